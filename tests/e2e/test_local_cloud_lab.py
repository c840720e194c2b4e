"""`stratus dev` against misbehaving handlers: every answer must be the one AWS gives."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    root = make_lab(tmp_path_factory.mktemp("lab"))
    stack = DevStack(root)
    yield stack
    stack.stop()


def lambda_client(stack: DevStack) -> object:
    return boto3.client(
        "lambda",
        endpoint_url=stack.invoke_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, read_timeout=30),
    )


def echo(stack: DevStack, path: str = "/lab/echo", **kwargs: object) -> dict[str, object]:
    response = stack.client.get(path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_handler_receives_payload_format_2_0_as_aws_builds_it(lab: DevStack) -> None:
    # WHEN a client sends repeated query keys, two cookies and a custom header
    body = echo(lab, "/lab/echo?a=1&a=2&b=x", headers={"X-Custom": "v", "Cookie": "c1=1; c2=2"})
    event = body["event"]
    assert isinstance(event, dict)
    # THEN the event has AWS's shape
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /lab/{proxy+}"
    assert event["rawPath"] == "/lab/echo"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["headers"]["x-custom"] == "v"
    assert "cookie" not in event["headers"]
    assert event["pathParameters"] == {"proxy": "echo"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/lab/echo"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["routeKey"] == "ANY /lab/{proxy+}"
    assert context["stage"] == "$default"
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int)
    assert {"accountId", "apiId", "domainName", "domainPrefix", "requestId"} <= set(context)


def test_the_handler_sees_lambdas_environment_and_context(lab: DevStack) -> None:
    body = echo(lab)
    env = body["env"]
    assert isinstance(env, dict)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "lab-dev-lab"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/lab-dev-lab"
    assert env["_HANDLER"] == "lab.main.handler"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"  # the manifest's runtime, whatever runs it here
    assert env["STRATUS_BASE_PATH"] == "/lab"
    assert env["GREETING"] == "hello"
    assert env["RECORDS_DATABASE_URL"].startswith("postgresql://")
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert body["function_name"] == "lab-dev-lab"
    assert body["memory"] == "256"
    assert 0 < int(body["remaining_ms"]) <= 2000  # type: ignore[call-overload]


def test_warm_environments_are_reused(lab: DevStack) -> None:
    first, second = echo(lab), echo(lab)
    assert first["pid"] == second["pid"]
    assert int(second["invocations"]) == int(first["invocations"]) + 1  # type: ignore[call-overload]


@pytest.mark.parametrize("failure", ["raise", "exit", "segv", "malformed"])
def test_a_failing_handler_gets_awss_500_and_the_next_request_works(lab: DevStack, failure: str) -> None:
    response = lab.client.get(f"/lab/{failure}")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert response.headers["content-type"] == "application/json"
    assert echo(lab)["event"]


def test_a_crash_is_reported_as_lambda_reports_it(lab: DevStack) -> None:
    lab.client.get("/lab/exit")
    lab.client.get("/lab/segv")
    lab.wait_log("Error: Runtime exited with error: exit status 1")
    lab.wait_log("Error: Runtime exited with error: signal: segmentation fault")


def test_a_handler_past_its_timeout_is_stopped_and_logged_as_lambda_does(lab: DevStack) -> None:
    # GIVEN the lab function's timeout is 2 s
    # WHEN a request sleeps for 5 s
    response = lab.client.get("/lab/sleep?s=5")
    # THEN the API answers 500 after about 2 s and the log says so as Lambda does
    assert response.status_code == 500
    lab.wait_log(r"Task timed out after 2\.\d\d seconds")
    assert echo(lab)["event"]


def test_an_integration_past_its_timeout_gets_503(lab: DevStack) -> None:
    response = lab.client.get("/slow/sleep?s=1.5")
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}


def test_start_end_and_report_lines_are_logged_with_init_duration_on_cold_start(lab: DevStack) -> None:
    request_id = echo(lab)["request_id"]
    logs = lab.wait_log(f"REPORT RequestId: {request_id}")
    assert f"START RequestId: {request_id} Version: $LATEST" in logs
    assert f"END RequestId: {request_id}" in logs
    report = re.search(rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                       r"Memory Size: 256 MB\tMax Memory Used: \d+ MB", logs)  # fmt: skip
    assert report
    # two requests at once: one takes the environment warmed at start, the other cold-starts a new one
    with ThreadPoolExecutor(2) as pool:
        ids = [answer["request_id"] for answer in pool.map(lambda _: echo(lab, "/lab/echo?hold=0.5"), range(2))]
    for i in ids:
        logs = lab.wait_log(rf"REPORT RequestId: {i}\t")
    cold = [i for i in ids if re.search(rf"REPORT RequestId: {i}\t.*\tInit Duration: [\d.]+ ms", logs)]
    assert cold, logs[-2000:]


def test_a_result_without_status_code_is_a_200_json_body(lab: DevStack) -> None:
    response = lab.client.get("/lab/bare")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}


def test_base64_bodies_and_cookies_map_back_to_http(lab: DevStack) -> None:
    binary = lab.client.get("/lab/binary")
    assert binary.content == bytes(range(8))
    cookies = lab.client.get("/lab/cookies")
    assert cookies.status_code == 201
    assert cookies.headers.get_list("set-cookie") == ["a=1", "b=2; Path=/"]


def test_a_binary_request_body_reaches_the_handler_base64_encoded(lab: DevStack) -> None:
    response = lab.client.post("/lab/echo", content=b"\x00\xffdata", headers={"content-type": "image/png"})
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xffdata"
    text = lab.client.post("/lab/echo", json={"k": "v"}).json()["event"]
    assert text["isBase64Encoded"] is False and json.loads(text["body"]) == {"k": "v"}


def test_unknown_routes_get_api_gateways_404(lab: DevStack) -> None:
    for path in ("/", "/nope", "/labx", "/LAB/echo"):
        response = lab.client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found"}
        assert response.headers["apigw-requestid"]


def test_a_service_that_fails_to_import_gets_500_and_its_traceback_is_logged_once(lab: DevStack) -> None:
    for _ in range(3):
        response = lab.client.get("/broken/anything")
        assert response.status_code == 500
        assert response.json() == {"message": "Internal Server Error"}
    logs = lab.wait_log("No module named 'this_module_does_not_exist'")
    assert logs.count("Runtime.ImportModuleError: Unable to import module 'broken.main'") == 1
    assert echo(lab)["event"]  # the rest of the stack is untouched


def test_cors_preflight_gets_the_apis_cors_headers_for_allowed_origins_only(lab: DevStack) -> None:
    # The route ANY /lab/{proxy+} takes the preflight (its function answers), and the API adds its CORS headers.
    preflight = {"Origin": "https://good.example", "Access-Control-Request-Method": "POST"}
    allowed = lab.client.options("/lab/echo", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://good.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    denied = lab.client.options("/lab/echo", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
    simple = lab.client.get("/lab/echo", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers
    good = lab.client.get("/lab/echo", headers={"Origin": "https://good.example"})
    assert good.headers["access-control-allow-origin"] == "https://good.example"


def test_reserved_concurrency_throttles(lab: DevStack) -> None:
    # GIVEN `single` has reserved concurrency 1 and one invocation is running
    client = lambda_client(lab)
    before = len(re.findall(r"single\s+\| \S+ START", lab.logs()))
    slow = threading.Thread(target=lambda: httpx.get(f"{lab.url}/single/sleep?s=2", timeout=10))
    slow.start()
    try:
        for _ in range(100):  # until it runs
            if len(re.findall(r"single\s+\| \S+ START", lab.logs())) > before:
                break
            threading.Event().wait(0.02)
        # WHEN another invocation comes in
        with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:  # type: ignore[attr-defined]
            client.invoke(FunctionName="lab-dev-single", Payload=b"{}")  # type: ignore[attr-defined]
        # THEN Lambda throttles it, and through the HTTP API it is a 500
        assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert lab.client.get("/single/echo").status_code == 500
    finally:
        slow.join()


def test_the_invoke_api_answers_boto3_as_lambda_does(lab: DevStack) -> None:
    client = lambda_client(lab)
    event = {"rawPath": "/lab/echo", "requestContext": {}, "headers": {}}
    ok = client.invoke(FunctionName="lab-dev-lab", Payload=json.dumps(event).encode(), LogType="Tail")  # type: ignore[attr-defined]
    assert ok["StatusCode"] == 200
    assert "FunctionError" not in ok
    assert ok["ExecutedVersion"] == "$LATEST"
    assert json.loads(json.loads(ok["Payload"].read())["body"])["function_name"] == "lab-dev-lab"
    assert "REPORT RequestId" in base64.b64decode(ok["LogResult"]).decode()

    failed = client.invoke(FunctionName="lab-dev-lab", Payload=json.dumps({**event, "rawPath": "/lab/raise"}))  # type: ignore[attr-defined]
    assert failed["StatusCode"] == 200
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "boom"
    assert error["stackTrace"]

    by_arn = client.invoke(  # type: ignore[attr-defined]
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:lab-dev-lab", InvocationType="DryRun"
    )
    assert by_arn["StatusCode"] == 204
    queued = client.invoke(FunctionName="lab-dev-lab", InvocationType="Event", Payload=b"{}")  # type: ignore[attr-defined]
    assert queued["StatusCode"] == 202
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # type: ignore[attr-defined]
        client.invoke(FunctionName="nope", Payload=b"{}")  # type: ignore[attr-defined]
    with pytest.raises(client.exceptions.InvalidRequestContentException):  # type: ignore[attr-defined]
        client.invoke(FunctionName="lab-dev-lab", Payload=b"{not json")  # type: ignore[attr-defined]


def test_the_database_is_an_embedded_postgres_kept_across_restarts(lab: DevStack, tmp_path: Path) -> None:
    first = lab.client.get("/lab/db")
    assert first.status_code == 200, first.text
    count = first.json()["visits"]
    assert lab.client.get("/lab/db").json()["visits"] == count + 1


def aws_call(stack: DevStack, call: str, path: str = "/lab/aws") -> dict[str, object]:
    """What the lab function got for one AWS call made with its own credentials."""
    return echo(stack, path, params={"call": call})


def test_each_function_runs_as_its_services_role_and_undeclared_access_is_denied_as_in_aws(lab: DevStack) -> None:
    # GIVEN the lab service, which uses the records database but not the notes table
    role = "arn:aws:sts::123456789012:assumed-role/lab-dev-lab-role/lab-dev-lab"
    # THEN its function runs with a session of its service's role, named after the function (as Lambda names it)
    assert aws_call(lab, "whoami") == {"result": role}
    # AND a write to a table it did not declare fails as in AWS: DynamoDB's AccessDeniedException, HTTP 400
    denied = aws_call(lab, "undeclared")
    assert denied["status"] == 400
    assert denied["error"] == {  # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
        "Code": "AccessDeniedException",
        "Message": f"User: {role} is not authorized to perform: dynamodb:PutItem on resource: "
        "arn:aws:dynamodb:us-east-1:123456789012:table/lab-dev-notes because no identity-based policy allows "
        "the dynamodb:PutItem action",
    }
    # AND its log says which `uses` entry would grant it
    lab.wait_log(r"IAM denied dynamodb:PutItem on table 'notes': add notes = \"write\" to services\.lab\.uses")
    # AND invoking another function, which nothing granted, is Lambda's AccessDeniedException (403)
    invoked = aws_call(lab, "invoke")
    assert invoked["status"] == 403
    assert invoked["error"]["Code"] == "AccessDeniedException"  # type: ignore[index]
    assert "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:lab-dev-single" in str(
        invoked["error"]
    )


def test_the_invoke_api_refuses_unsigned_and_unknown_callers_as_lambda_does(lab: DevStack) -> None:
    unsigned = httpx.post(f"{lab.invoke_url}/2015-03-31/functions/lab-dev-lab/invocations", content=b"{}")
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    stranger = boto3.client(
        "lambda", endpoint_url=lab.invoke_url, region_name="us-east-1", aws_access_key_id="AKIASTRANGER",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}),
    )  # fmt: skip
    with pytest.raises(stranger.exceptions.ClientError) as refused:
        stranger.invoke(FunctionName="lab-dev-lab", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
