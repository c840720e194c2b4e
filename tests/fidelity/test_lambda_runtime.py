"""Lambda's runtime as a function sees it and as its log shows it: INIT_START/START/END/REPORT, output inside the
invocation, failures in REPORT, the 6 MB payload quotas (request and response) and the Runtime API's refusals."""

from __future__ import annotations

import asyncio
import base64
import functools
import http.client
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from stratus.local.client import client
from stratus.local.runtime.api import Invocation, serve
from stratus.local.runtime.environment import RESPONSE_LIMIT, Environment
from tests.e2e.devstack import DevStack

LOGS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html"
INVOKE = "DOC https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html"
QUOTAS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
RUNTIME_API = "DOC https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html (OpenAPI spec runtime-api.zip)"


@functools.cache
def lambda_client(stack: DevStack) -> Any:
    return client(stack.dev_state(), "lambda")


def invoke_tail(stack: DevStack, event: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    response = lambda_client(stack).invoke(FunctionName="lab-dev-lab", Payload=json.dumps(event), LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    return response, log.splitlines()


@pytest.mark.aws(LOGS)
def test_what_a_handler_prints_before_it_returns_is_between_start_and_end(lab: DevStack) -> None:
    for _ in range(5):
        _, lines = invoke_tail(lab, {"action": "print"})
        start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId:"))
        end = next(i for i, line in enumerate(lines) if line.startswith("END RequestId:"))
        assert start < lines.index("hello from the probe") < end


@pytest.mark.aws(LOGS)
def test_an_unhandled_exceptions_traceback_is_logged_inside_the_invocation(lab: DevStack) -> None:
    response, lines = invoke_tail(lab, {"action": "raise"})
    assert response["FunctionError"] == "Unhandled"
    end = next(i for i, line in enumerate(lines) if line.startswith("END RequestId:"))
    assert any("RuntimeError" in line and "boom" in line for line in lines[:end]), lines
    assert lines.index("about to fail") < end


@pytest.mark.aws(INVOKE + " (LogResult: the last 4 KB of the invocation's log, base64)")
def test_the_tail_is_the_invocations_own_log_at_most_4_kb(lab: DevStack) -> None:
    response, lines = invoke_tail(lab, {"action": "print"})
    assert len(base64.b64decode(response["LogResult"])) <= 4096
    assert lines[-1].startswith(f"REPORT RequestId: {response['ResponseMetadata']['RequestId']}")


@pytest.mark.aws(
    "DOC https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html (the INIT_START log line names the "
    "runtime version)"
)
def test_a_cold_start_logs_init_start_before_start(lab: DevStack) -> None:
    lab.client.get("/single/echo")
    lab.wait_log(r"INIT_START Runtime Version: python:\S+\tRuntime Version ARN: arn:aws:lambda:")
    logs = lab.wait_log(r"single +\| \S+ START RequestId")
    single = [line.split("| ", 1)[1] for line in logs.splitlines() if line.split(" ", 1)[-1].startswith("single")]
    first_init = next(i for i, line in enumerate(single) if "INIT_START" in line)
    first_start = next(i for i, line in enumerate(single) if "START RequestId" in line and "INIT" not in line)
    assert first_init < first_start


@pytest.mark.aws(
    "DOC https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/ (from 2025-08-01 the "
    "INIT phase of on-demand ZIP functions is billed)"
)
def test_a_cold_starts_billed_duration_includes_its_init(lab: DevStack) -> None:
    # More calls at once than there are warm environments: at least one starts cold (earlier tests may have left
    # some warm, so widen until one does).
    event = b'{"action":"sleep","s":0.5}'
    cold: list[str] = []
    for width in (2, 3, 4, 6):
        with ThreadPoolExecutor(width) as pool:
            calls = [pool.submit(lambda_client(lab).invoke, FunctionName="lab-dev-slow", Payload=event, LogType="Tail")
                     for _ in range(width)]  # fmt: skip
            reports = [base64.b64decode(call.result()["LogResult"]).decode().splitlines()[-1] for call in calls]
        cold = [report for report in reports if "Init Duration" in report]
        if cold:
            break
    assert cold, "no call started cold"
    for report in cold:
        fields = dict(re.findall(r"([A-Za-z ]+): ([\d.]+) m?s", report))
        assert float(fields["Billed Duration"]) >= float(fields["Duration"]) + float(fields["Init Duration"]) - 1


@pytest.mark.aws(
    "OBS apex/up#663, aws-samples/aws-cloudfront-samples#30: '<ISO time> <id> Task timed out after 3.00 seconds'"
)
def test_a_timeout_is_logged_with_its_timestamp_and_reported_with_status_timeout(lab: DevStack) -> None:
    response, lines = invoke_tail(lab, {"action": "sleep", "s": 5})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    pattern = rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 2\.\d\d seconds"
    assert any(re.fullmatch(pattern, line) for line in lines), lines
    assert lines[-1].endswith("\tStatus: timeout")


@pytest.mark.aws("OBS DataBiosphere/azul#7466: 'REPORT ... Status: error\tError Type: Runtime.ExitError'")
def test_a_runtime_that_exits_is_reported_with_status_error(lab: DevStack) -> None:
    response, lines = invoke_tail(lab, {"action": "exit", "code": 3})
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ExitError"
    assert lines[-1].endswith("\tStatus: error\tError Type: Runtime.ExitError")


# ----------------------------------------------------------------------------------------------- payload quotas


@pytest.mark.aws(
    "OBS bref#1090; DataBiosphere/azul#8192 ('Response payload size exceeded maximum allowed payload size "
    "(6291556 bytes)'): the HTTP API answers 500"
)
def test_a_response_over_6_mb_through_the_http_api_is_a_500(lab: DevStack) -> None:
    response = lab.client.get("/lab/big", params={"n": 7 * 1024 * 1024})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


@pytest.mark.aws(QUOTAS + " (invocation payload 6 MB: a response of 6,291,556 bytes at most, bref#1090)")
def test_a_response_just_under_the_quota_is_served(lab: DevStack) -> None:
    response = lab.client.get("/lab/big", params={"n": 6 * 1024 * 1024 - 4096})
    assert response.status_code == 200 and len(response.content) == 6 * 1024 * 1024 - 4096


@pytest.mark.aws("OBS azul#8192; aws-mismatches.md: Invoke answers 200 with FunctionError Unhandled")
def test_a_response_over_6_mb_through_invoke_is_a_function_error(lab: DevStack) -> None:
    response = lambda_client(lab).invoke(
        FunctionName="lab-dev-lab", Payload=json.dumps({"action": "big", "n": 7 << 20})
    )
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


@pytest.mark.aws(
    'OBS koki-develop/lgtm-generator#10 (413 {"message": "Request Too Long"} when the event passes Lambda\'s 6 MB; '
    "captured on a REST API: the HTTP API's status is not published, the emulator answers the same)"
)
def test_a_request_whose_event_passes_6_mb_never_reaches_the_function(lab: DevStack) -> None:
    before = lab.logs().count("START RequestId")
    response = lab.client.post("/lab/size", content=b'"' + b"x" * (7 * 1024 * 1024) + b'"',
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
    assert "byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)" in lab.wait_log(
        "byte payload is too large"
    )
    assert lab.logs().count("START RequestId") == before


@pytest.mark.aws("OBS theburningmonk (base64 inflates a binary body by 4/3 before Lambda's 6 MB quota applies)")
def test_a_5_mb_binary_body_is_refused_once_base64_inflates_it_past_6_mb(lab: DevStack) -> None:
    response = lab.client.post("/lab/size", content=bytes(5 * 1024 * 1024),
                               headers={"content-type": "application/octet-stream"})  # fmt: skip
    assert response.status_code == 413


@pytest.mark.aws(QUOTAS + " (a 4 MB text body makes an event under 6 MB: delivered)")
def test_a_body_under_the_quota_reaches_the_function(lab: DevStack) -> None:
    response = lab.client.post("/lab/size", content=b"x" * (4 * 1024 * 1024), headers={"content-type": "text/plain"})
    assert response.status_code == 200 and response.json()["event_bytes"] > 4 * 1024 * 1024


# ------------------------------------------------------------------------------------------- the Runtime API


def _post(port: int, request_id: str, body: bytes) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", f"/2018-06-01/runtime/invocation/{request_id}/response", body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _runtime_api(tmp_path: Path, body: bytes, posts: int) -> list[tuple[int, dict[str, Any]]]:
    async def main() -> list[tuple[int, dict[str, Any]]]:
        env = Environment(
            handler="h.handler", task_root=tmp_path, environ={}, log=lambda line, rid: None,
            on_exit=lambda e: None, argv=(sys.executable,),
        )  # fmt: skip
        server, port = await serve(env)
        try:
            env.invoke(Invocation("rid-1", b"{}", 0, "arn", "trace"), 10, lambda inv: None)
            return [await asyncio.to_thread(_post, port, "rid-1", body) for _ in range(posts)]
        finally:
            server.close()

    return asyncio.run(main())


@pytest.mark.aws(RUNTIME_API + "; OBS brefphp/bref#1483 (403 for a second result of one invocation)")
def test_the_runtime_api_refuses_a_second_result_for_one_invocation_with_403(tmp_path: Path) -> None:
    answers = _runtime_api(tmp_path, b'{"ok":1}', posts=2)
    assert answers[0][0] == 202
    assert answers[1][0] == 403


@pytest.mark.aws(
    RUNTIME_API + "; OBS anomalyco/console#63 ('Exceeded maximum allowed payload size (6291556 bytes).', "
    "RequestEntityTooLarge)"
)
def test_the_runtime_api_refuses_a_response_over_the_quota_with_413(tmp_path: Path) -> None:
    [(status, body)] = _runtime_api(tmp_path, b"x" * (RESPONSE_LIMIT + 1), posts=1)
    assert status == 413
    assert body == {
        "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "RequestEntityTooLarge",
    }
