"""The Lambda execution environment as a Python handler sees it: the runtime's environment variables and the
context object.

The lab's function ``lab-dev-lab`` (tests/e2e/lab.py: memory 256 MB, timeout 2 s, handler ``lab.main.handler``,
``GREETING=hello``) answers ``/lab/echo`` with its Lambda variables (``AWS_LAMBDA_*``, ``_HANDLER``, ``LAMBDA_*``,
``AWS_REGION``, ``AWS_EXECUTION_ENV``, ...) and the context's ``get_remaining_time_in_millis()``,
``aws_request_id``, ``function_name`` and ``memory_limit_in_mb``; invoked directly, it returns the context's
``invoked_function_arn``.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from stratus.local.client import client
from stratus.testing.launcher import DevStack

pytestmark = pytest.mark.e2e

ENV = (
    "DOC https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime "
    "(Defined runtime environment variables)"
)
CONTEXT = "DOC https://docs.aws.amazon.com/lambda/latest/dg/python-context.html"
FUNCTION = "lab-dev-lab"


def echo(lab: DevStack, **params: Any) -> dict[str, Any]:
    response = lab.client.get("/lab/echo", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def env(lab: DevStack) -> dict[str, str]:
    variables: dict[str, str] = echo(lab)["env"]
    return variables


@functools.cache
def lambda_client(stack: DevStack) -> Any:
    return client(stack.dev_state(), "lambda")


# -------------------------------------------------------------------------------- reserved environment variables


@pytest.mark.aws(ENV + " (AWS_LAMBDA_FUNCTION_NAME: the name of the function)")
def test_the_function_name_variable_is_the_functions_name(lab: DevStack) -> None:
    assert env(lab)["AWS_LAMBDA_FUNCTION_NAME"] == FUNCTION


@pytest.mark.aws(ENV + " (AWS_LAMBDA_FUNCTION_MEMORY_SIZE: the amount of memory available to the function in MB)")
def test_the_memory_size_variable_is_the_configured_memory_in_mb(lab: DevStack) -> None:
    assert env(lab)["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"


@pytest.mark.aws(ENV + " (AWS_LAMBDA_FUNCTION_VERSION: the version being executed, $LATEST when unpublished)")
def test_the_function_version_is_latest(lab: DevStack) -> None:
    assert env(lab)["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"


@pytest.mark.aws(
    ENV
    + " (AWS_LAMBDA_LOG_GROUP_NAME); DOC https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html "
    "(the default log group is /aws/lambda/<function name>)"
)
def test_the_log_group_is_aws_lambda_and_the_function_name(lab: DevStack) -> None:
    assert env(lab)["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{FUNCTION}"


@pytest.mark.aws(
    "OBS OpenTelemetry semantic conventions, faas.instance (AWS Lambda: the log stream name, e.g. "
    "'2021/06/28/[$LATEST]2f399eb14537447da05ab2a2e39309de')"
)
def test_the_log_stream_name_is_the_date_the_version_and_32_hex_digits(lab: DevStack) -> None:
    stream = env(lab)["AWS_LAMBDA_LOG_STREAM_NAME"]
    match = re.fullmatch(r"(\d{4}/\d\d/\d\d)/\[\$LATEST\][0-9a-f]{32}", stream)
    assert match is not None, stream
    assert match.group(1) in {time.strftime("%Y/%m/%d", time.gmtime(time.time() + d)) for d in (-86400, 0)}


@pytest.mark.aws(
    "OBS OpenTelemetry semantic conventions, faas.instance (the log stream names the execution environment, "
    "reused for the invocations it serves)"
)
def test_one_execution_environment_keeps_one_log_stream(lab: DevStack) -> None:
    streams: dict[int, set[str]] = {}
    for _ in range(4):
        body = echo(lab)
        streams.setdefault(body["pid"], set()).add(body["env"]["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert all(len(names) == 1 for names in streams.values()), streams


@pytest.mark.aws(ENV + " (AWS_REGION: the Region where the function runs)")
def test_the_region_is_the_stacks_region(lab: DevStack) -> None:
    assert env(lab)["AWS_REGION"] == "us-east-1"


@pytest.mark.aws(ENV + " (AWS_EXECUTION_ENV: the runtime identifier, prefixed by AWS_Lambda_)")
def test_the_execution_env_names_the_functions_runtime_prefixed_aws_lambda(lab: DevStack) -> None:
    assert env(lab)["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"  # the lab's runtime (the manifest's default)


@pytest.mark.aws(ENV + " (_HANDLER: the handler location configured on the function)")
def test_the_handler_variable_is_the_configured_handler(lab: DevStack) -> None:
    assert env(lab)["_HANDLER"] == "lab.main.handler"


@pytest.mark.aws(ENV + " (LAMBDA_TASK_ROOT: the path to your Lambda function code)")
def test_the_task_root_holds_the_functions_code(lab: DevStack) -> None:
    root = Path(env(lab)["LAMBDA_TASK_ROOT"])
    assert (root / "lab" / "main.py").is_file()


@pytest.mark.aws(ENV + " (AWS_LAMBDA_INITIALIZATION_TYPE: on-demand, without provisioned concurrency)")
def test_the_initialization_type_is_on_demand(lab: DevStack) -> None:
    assert env(lab)["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"


@pytest.mark.aws(ENV + " (AWS_LAMBDA_RUNTIME_API: the host and port of the runtime API)")
def test_the_runtime_api_variable_is_a_host_and_port(lab: DevStack) -> None:
    assert re.fullmatch(r"[\w.-]+:\d{1,5}", env(lab)["AWS_LAMBDA_RUNTIME_API"])


@pytest.mark.aws("DOC https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html (the function's own)")
def test_the_functions_configured_variables_are_set(lab: DevStack) -> None:
    assert env(lab)["GREETING"] == "hello"


@pytest.mark.aws(
    ENV + " (AWS_ACCESS_KEY_ID...: the keys of the function's execution role); OBS "
    "bluesentry/bucket-antivirus-function#109 (the caller is arn:aws:sts::<account>:assumed-role/<role>/<function>)"
)
def test_the_function_calls_aws_as_a_session_of_its_role_named_after_the_function(lab: DevStack) -> None:
    response = lab.client.get("/lab/aws", params={"call": "whoami"})
    arn = response.json()["result"]
    assert re.fullmatch(rf"arn:aws:sts::123456789012:assumed-role/[\w+=,.@-]+/{FUNCTION}", arn), arn


# ---------------------------------------------------------------------------------------- the context object


@pytest.mark.aws(CONTEXT + " (function_name)")
def test_the_contexts_function_name_is_the_functions_name(lab: DevStack) -> None:
    assert echo(lab)["function_name"] == FUNCTION


@pytest.mark.aws(
    CONTEXT + " (memory_limit_in_mb); OBS aws/aws-lambda-python-runtime-interface-client lambda_context.py "
    "(the string of AWS_LAMBDA_FUNCTION_MEMORY_SIZE)"
)
def test_the_contexts_memory_limit_is_the_configured_memory_as_a_string(lab: DevStack) -> None:
    assert echo(lab)["memory"] == "256"


@pytest.mark.aws(CONTEXT + " (aws_request_id: the identifier of the invocation request)")
def test_the_request_id_is_a_uuid(lab: DevStack) -> None:
    request_id = echo(lab)["request_id"]
    assert str(uuid.UUID(request_id)) == request_id


@pytest.mark.aws(CONTEXT + " (aws_request_id: one per invocation)")
def test_each_invocation_has_its_own_request_id(lab: DevStack) -> None:
    assert len({echo(lab)["request_id"] for _ in range(3)}) == 3


@pytest.mark.aws(CONTEXT + " (get_remaining_time_in_millis: the time left before the invocation times out)")
def test_the_remaining_time_is_at_most_the_functions_timeout(lab: DevStack) -> None:
    remaining = echo(lab)["remaining_ms"]
    assert 1000 < remaining <= 2000  # the lab's timeout is 2 s


@pytest.mark.aws(CONTEXT + " (get_remaining_time_in_millis counts down while the handler runs)")
def test_the_remaining_time_counts_down_while_the_handler_runs(lab: DevStack) -> None:
    remaining = echo(lab, hold=0.5)["remaining_ms"]  # read after the handler slept 0.5 s
    assert 0 < remaining <= 1500


@pytest.mark.aws(CONTEXT + " (invoked_function_arn: the ARN used to invoke the function)")
def test_the_invoked_function_arn_is_the_functions_arn(lab: DevStack) -> None:
    response = lambda_client(lab).invoke(FunctionName=FUNCTION, Payload=b'{"action": "echo"}')
    result = json.loads(response["Payload"].read())
    assert result["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
    assert result["function_name"] == FUNCTION
