"""The local Lambda API as boto3 sees it, against AWS's documented and captured behaviour: the client context,
qualifiers and the alias, payload limits, asynchronous invocations and their retries, GetFunction,
GetFunctionConfiguration and ListFunctions, IAM on them, and refusing web pages.

The lab here is the fidelity lab plus ``warm``, a service with provisioned concurrency (so its HTTP function
has the ``live`` alias, as the Terraform gives it), started with ``STRATUS_ASYNC_RETRY_DELAYS`` shortened so
Lambda's two retries take 0.2 s and 0.4 s instead of one and two minutes."""

from __future__ import annotations

import base64
import functools
import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_lab

INVOKE = "DOC https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html"
CONTEXT = "DOC https://docs.aws.amazon.com/lambda/latest/dg/python-context.html"
NAUGHTY = (
    "OBS smithy-lang/smithy-rs aws/sdk/integration-tests/lambda/tests/naughty-strings-client-context.rs "
    "(Lambda's answer to invalid client contexts); aws/aws-sdk-js#1388"
)
TOO_LARGE = "OBS /work/shared/reference/aws-mismatches.md (theburningmonk, aws-pdk#771); ASFHyP3/hyp3#2241 (Event)"
ASYNC = "DOC https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html"
ALIAS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html"
CONFIGURATION = "DOC https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html"
GET_FUNCTION = "DOC https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html"
LIST = "DOC https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html"
PERMISSIONS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html"
SIGNED = (
    "DOC https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html (every Lambda API call is SigV4-signed, "
    "which a web page cannot do); Fetch Metadata https://www.w3.org/TR/fetch-metadata/"
)
pytestmark = pytest.mark.xdist_group("fidelity-invoke")  # one worker starts this module's stack
WARM = """
[services.warm]
kind = "lambda"
path = "/warm"
source = "services/lab"
handler = "lab.main.handler"
reserved_concurrency = 2
provisioned_concurrency = 1
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    root = make_lab(tmp_path_factory.mktemp("fidelity-invoke"), databases=False)
    with (root / "stratus.toml").open("a") as manifest:
        manifest.write(WARM)
    running = DevStack(root, environ={"STRATUS_ASYNC_RETRY_DELAYS": "0.2,0.4"})
    yield running
    running.stop()


@functools.cache
def client(stack: DevStack, key: str = "testing", secret: str = "testing") -> Any:
    return boto3.client(
        "lambda", endpoint_url=stack.invoke_url, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}, read_timeout=30),
    )  # fmt: skip


@functools.cache
def iam_client(stack: DevStack) -> Any:
    return boto3.client(
        "iam", endpoint_url=stack.dev_state().aws, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip


def invoke(lam: Any, **kwargs: Any) -> dict[str, Any]:
    """Lambda's answer, its payload read (an unread one holds its connection)."""
    response: dict[str, Any] = lam.invoke(**kwargs)
    response["Payload"] = response["Payload"].read()
    return response


def b64(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


@pytest.mark.aws(f"{INVOKE}; {CONTEXT}")
def test_the_client_context_reaches_the_function(stack: DevStack) -> None:
    context = {"custom": {"k": "v"}, "env": {"locale": "fr"}, "client": {"installation_id": "i-1"}}
    response = invoke(client(stack), FunctionName="lab-dev-lab", Payload=b"{}", ClientContext=b64(context))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"])["client_context"] == {
        "custom": {"k": "v"}, "env": {"locale": "fr"}, "client": {"installation_id": "i-1"},
    }  # fmt: skip


@pytest.mark.aws(NAUGHTY)
def test_a_client_context_that_is_no_base64_json_object_is_refused(stack: DevStack) -> None:
    for value in ("<script>", b64(["a", "list"])):
        with pytest.raises(ClientError) as refused:
            invoke(client(stack), FunctionName="lab-dev-lab", Payload=b"{}", ClientContext=value)
        assert error_of(refused) == (
            400, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.",
        )  # fmt: skip


@pytest.mark.aws(INVOKE)
def test_a_client_context_over_3583_bytes_is_refused(stack: DevStack) -> None:
    with pytest.raises(ClientError) as refused:
        invoke(
            client(stack), FunctionName="lab-dev-lab", Payload=b"{}", ClientContext=b64({"custom": {"k": "x" * 3000}})
        )
    assert error_of(refused)[:2] == (400, "InvalidRequestContentException")


@pytest.mark.aws(f"{INVOKE}; {ALIAS}")
def test_latest_and_the_alias_run_and_an_unknown_qualifier_is_not_found(stack: DevStack) -> None:
    lam = client(stack)
    assert invoke(lam, FunctionName="lab-dev-lab", Qualifier="$LATEST", Payload=b"{}")["ExecutedVersion"] == "$LATEST"
    live = invoke(lam, FunctionName="lab-dev-warm", Qualifier="live", Payload=b"{}")
    assert live["StatusCode"] == 200 and live["ExecutedVersion"] == "1"
    assert invoke(lam, FunctionName="lab-dev-warm:live", Payload=b"{}")["ExecutedVersion"] == "1"
    for name, qualifier in (("lab-dev-warm", "prod"), ("lab-dev-lab", "live")):  # lab has no provisioned concurrency
        with pytest.raises(ClientError) as missing:
            invoke(lam, FunctionName=name, Qualifier=qualifier, Payload=b"{}")
        assert error_of(missing) == (
            404, "ResourceNotFoundException",
            f"Function not found: arn:aws:lambda:us-east-1:123456789012:function:{name}:{qualifier}",
        )  # fmt: skip


@pytest.mark.aws(f"{CONTEXT} (invoked_function_arn: 'the ARN that's used to invoke the function; indicates if the "
                 f"invoker specified a version number or alias'); {ALIAS}")  # fmt: skip
def test_an_alias_call_carries_the_alias_in_the_invoked_arn_and_its_version_in_start(stack: DevStack) -> None:
    live = invoke(client(stack), FunctionName="lab-dev-warm", Qualifier="live", LogType="Tail",
                  Payload=json.dumps({"action": "echo"}).encode())  # fmt: skip
    arn = json.loads(live["Payload"])["invoked_function_arn"]
    assert arn == "arn:aws:lambda:us-east-1:123456789012:function:lab-dev-warm:live"
    assert (
        f"START RequestId: {live['ResponseMetadata']['RequestId']} Version: 1"
        in base64.b64decode(live["LogResult"]).decode()
    )
    latest = invoke(client(stack), FunctionName="lab-dev-warm", Payload=json.dumps({"action": "echo"}).encode())
    assert json.loads(latest["Payload"])["invoked_function_arn"].endswith(":function:lab-dev-warm")


@pytest.mark.aws(f"{INVOKE}; {TOO_LARGE}")
def test_payloads_over_the_limits_are_refused_with_413(stack: DevStack) -> None:
    lam = client(stack)
    big = json.dumps({"data": "x" * (7 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as refused:
        invoke(lam, FunctionName="lab-dev-lab", Payload=big)
    assert error_of(refused) == (
        413, "RequestEntityTooLargeException",
        f"{len(big)} byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)",
    )  # fmt: skip
    event = json.dumps({"data": "x" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as refused:
        invoke(lam, FunctionName="lab-dev-lab", Payload=event, InvocationType="Event")
    assert error_of(refused) == (
        413, "RequestEntityTooLargeException",
        f"{len(event)} byte payload is too large for the Event invocation type (limit 1048576 bytes)",
    )  # fmt: skip
    fits = json.dumps({"action": "echo", "data": "x" * (1000 * 1000)}).encode()
    assert invoke(lam, FunctionName="lab-dev-lab", Payload=fits, InvocationType="Event")["StatusCode"] == 202


@pytest.mark.aws(ASYNC)
def test_a_failed_event_is_retried_twice_with_its_request_id(stack: DevStack) -> None:
    queued = invoke(client(stack), FunctionName="lab-dev-lab", Payload=b'{"action": "raise"}', InvocationType="Event")
    assert queued["StatusCode"] == 202
    request_id = queued["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    logs = stack.wait_log(rf"{request_id} async invocation failed \(Unhandled\) after 3 attempts", timeout=10)
    assert logs.count(f"START RequestId: {request_id}") == 3  # the same id each time, as in AWS
    assert f"{request_id} async invocation failed (Unhandled); retry 1 of 2 in 0.2 s" in logs
    assert f"{request_id} async invocation failed (Unhandled); retry 2 of 2 in 0.4 s" in logs


@pytest.mark.aws(ASYNC)
def test_a_throttled_event_is_retried_until_it_runs(stack: DevStack) -> None:
    lam = client(stack)
    held = threading.Thread(
        target=lambda: invoke(lam, FunctionName="lab-dev-single", Payload=b'{"action": "sleep", "s": 1.5}')
    )
    held.start()  # lab-dev-single has reserved concurrency 1: this holds it
    try:
        time.sleep(0.5)
        queued = invoke(lam, FunctionName="lab-dev-single", Payload=b'{"action": "echo"}', InvocationType="Event")
        request_id = queued["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        stack.wait_log(rf"{request_id} async invocation throttled \(TooManyRequestsException\); retrying in 1 s")
        stack.wait_log(rf"REPORT RequestId: {request_id}", timeout=10)
    finally:
        held.join()


@pytest.mark.aws(f"{CONFIGURATION}; {GET_FUNCTION}; {LIST}")
def test_the_read_operations_describe_the_functions_as_aws_does(stack: DevStack) -> None:
    lam = client(stack)
    config = lam.get_function_configuration(FunctionName="lab-dev-lab")
    assert config["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:lab-dev-lab"
    assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"]) == (
        "python3.13", "lab.main.handler", 2, 256,
    )  # fmt: skip
    assert config["Role"] == "arn:aws:iam::123456789012:role/lab-dev-lab-role"
    variables = config["Environment"]["Variables"]
    assert variables["GREETING"] == "hello" and variables["STRATUS_SERVICE"] == "lab"
    assert not {"PATH", "HOME", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_NAME"} & set(variables)
    assert (config["State"], config["LastUpdateStatus"], config["PackageType"]) == ("Active", "Successful", "Zip")
    single = lam.get_function(FunctionName="lab-dev-single")
    assert single["Concurrency"] == {"ReservedConcurrentExecutions": 1}
    assert single["Code"]["RepositoryType"] == "S3"
    assert "Concurrency" not in lam.get_function(FunctionName="lab-dev-lab")
    names = [
        f["FunctionName"]
        for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in page["Functions"]
    ]
    assert names == sorted(["lab-dev-lab", "lab-dev-slow", "lab-dev-single", "lab-dev-broken", "lab-dev-warm"])
    assert len(lam.list_functions(MaxItems=2)["Functions"]) == 2
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName="lab-dev-nope")
    assert error_of(missing)[:2] == (404, "ResourceNotFoundException")


@pytest.mark.aws(PERMISSIONS)
def test_a_caller_without_the_grant_cannot_list_or_read_functions(stack: DevStack) -> None:
    iam = iam_client(stack)
    user = f"reader-{time.monotonic_ns()}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    stranger = client(stack, key["AccessKeyId"], key["SecretAccessKey"])
    arn = f"arn:aws:iam::123456789012:user/{user}"
    for call, action, resource in (
        (lambda: stranger.list_functions(), "lambda:ListFunctions", ""),  # on *: AWS's message names no resource
        (lambda: stranger.get_function(FunctionName="lab-dev-lab"), "lambda:GetFunction", "function:lab-dev-lab"),
        (lambda: stranger.get_function_configuration(FunctionName="lab-dev-lab"), "lambda:GetFunctionConfiguration",
         "function:lab-dev-lab"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as denied:
            call()
        status, code, message = error_of(denied)
        assert (status, code) == (403, "AccessDeniedException")
        assert f"User: {arn} is not authorized to perform: {action}" in message and resource in message


@pytest.mark.aws(SIGNED)
def test_a_request_from_a_web_page_is_refused(stack: DevStack) -> None:
    port = int(stack.invoke_url.rsplit(":", 1)[1])
    path = "/2015-03-31/functions/lab-dev-lab/invocations"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(
                "POST", path, body=b'{"action": "echo"}', headers={"Content-Type": "text/plain", **headers}
            )
            response = connection.getresponse()
            assert response.status == 403
            assert response.getheader("x-amzn-errortype") == "AccessDeniedException"
            response.read()
        finally:
            connection.close()
    assert invoke(client(stack), FunctionName="lab-dev-lab", Payload=b"{}")["StatusCode"] == 200  # the SDK is served
