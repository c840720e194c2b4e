"""The HTTP API's own limits and ids, through the lab (tests/e2e/lab.py, ``ANY /lab/{proxy+}`` to a Lambda whose
``/lab/echo`` answers with the event it received): the quota on request line and header values, the 10 MB payload
quota, and the shape of ``apigw-requestid``.

Where AWS publishes a limit but not the answer to a request past it, the test checks the limit and names the
emulator's choice (stratus.local.http_server's docstring). The 6 MB event quota (413 ``Request Too Long``) is in
test_lambda_runtime.py.
"""

from __future__ import annotations

import pytest

from stratus.local.httpapi.request_id import PATTERN
from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

QUOTAS = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html"
HEAD_QUOTA = (
    QUOTAS + " ('Total combined size of request line and header values: 10240 bytes'; the status past it is not "
    "published, the emulator answers 431; clients quote 'HTTP header is larger than 10240 bytes.', "
    "ntsblog.homedev.com.au 2021)"
)
IDS = (
    "OBS aws-mismatches.md row 1: JKJaXmPLvHcESHA= (awsdocs sample), QQCtFipSIAMEPNQ= "
    "(aws-powertools/powertools-lambda-python#1098), RL2XYiwjPHcEMEQ= (cortexlabs/cortex#1225, raw capture)"
)
PAYLOAD = (
    QUOTAS + " ('Payload size: 10 MB'); OBS koki-develop/lgtm-generator#10 (413 past 10485760 bytes, captured "
    "behind CloudFront on a REST API)"
)


def invocations(lab: DevStack) -> tuple[int, int]:
    """(process, invocations it served) of the lab's warm function: a request the function ran counts one."""
    body = lab.client.get("/lab/echo").json()
    return body["pid"], body["invocations"]


def quota_used(path: str, headers: dict[str, str]) -> int:
    """Request line and header values, as the quota counts them (httpx adds host, accept, ... to these)."""
    return len(f"GET {path} HTTP/1.1") + sum(len(value) for value in headers.values())


@pytest.mark.aws(HEAD_QUOTA)
def test_header_values_just_under_the_quota_are_served(lab: DevStack) -> None:
    headers = {"x-big": "a" * 9_000}
    assert quota_used("/lab/echo", headers) < 10_240 - 200  # room for the client's own headers
    response = lab.client.get("/lab/echo", headers=headers)
    assert response.status_code == 200
    assert response.json()["event"]["headers"]["x-big"] == headers["x-big"]


@pytest.mark.aws(HEAD_QUOTA)
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/lab/echo", {"x-big": "a" * 20_000}),
        ("/lab/echo", {f"x-h{i}": "v" * 100 for i in range(110)}),
        ("/lab/echo?q=" + "u" * 10_300, {}),
    ],
    ids=["one-header", "many-headers", "long-url"],
)
def test_request_line_and_header_values_past_10240_bytes_are_refused(
    lab: DevStack, path: str, headers: dict[str, str]
) -> None:
    pid, before = invocations(lab)
    response = lab.client.get(path, headers=headers)
    assert response.status_code == 431
    assert response.json() == {"message": "Request Header Fields Too Large"}
    assert response.headers["connection"] == "close"
    assert invocations(lab) == (pid, before + 1)  # the function ran for the check only


@pytest.mark.aws(IDS)
def test_the_request_id_is_16_base64_characters_ending_in_equals_and_is_the_events(lab: DevStack) -> None:
    ids = []
    for _ in range(3):
        response = lab.client.get("/lab/echo")
        header = response.headers["apigw-requestid"]
        assert PATTERN.fullmatch(header), header
        assert response.json()["event"]["requestContext"]["requestId"] == header
        ids.append(header)
    assert len(set(ids)) == 3


@pytest.mark.aws(IDS)
def test_the_api_s_own_errors_carry_a_request_id_of_the_same_shape(lab: DevStack) -> None:
    response = lab.client.get("/no-such-route")
    assert response.status_code == 404
    assert PATTERN.fullmatch(response.headers["apigw-requestid"])


@pytest.mark.aws(PAYLOAD)
def test_a_body_over_10_mb_is_413_and_never_reaches_the_function(lab: DevStack) -> None:
    pid, before = invocations(lab)
    response = lab.client.post("/lab/size", content=b"x" * (10 * 1024 * 1024 + 1),
                               headers={"content-type": "text/plain"})  # fmt: skip
    assert response.status_code == 413
    # the emulator's body: the REST API capture's is text ("HTTP content length exceeded 10485760 bytes."), the HTTP
    # API's is not published
    assert response.json() == {"message": "Request Entity Too Large"}
    assert invocations(lab) == (pid, before + 1)
