"""What a client gets back from an HTTP API for what its Lambda returned (payload format 2.0), and the API's own
answers when the Lambda fails, is too slow, or the stage is throttled.

The lab (tests/e2e/lab.py) has handlers that return fixed results (``/lab/bare``, ``/lab/binary``,
``/lab/cookies``, ``/lab/malformed``) or fail (``/lab/raise``, ``/lab/exit``, ``/slow/sleep`` past its
integration timeout). The ``shape`` stack of this module returns whatever result the request's JSON body holds, so
that one request checks one mapping; the ``gate`` stack has a stage throttled to a burst of two requests.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.testing.launcher import DevStack

pytestmark = pytest.mark.e2e

PAYLOAD = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html"
INFERRED = (
    PAYLOAD + " ('If your Lambda function returns valid JSON and doesn't return a statusCode, API Gateway assumes')"
)
TROUBLESHOOTING = (
    "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html"
)
INTERNAL_ERROR = {"message": "Internal Server Error"}

SHAPE_HANDLER = """
import json


def handler(event, context):
    if event["rawPath"].endswith("/unserializable"):
        return {"statusCode": 200, "body": {1, 2}}  # a set: the runtime cannot marshal it
    return json.loads(event["body"])["result"]
"""


def make_shape(root: Path, api: str = "") -> Path:
    """A project whose one function returns the ``result`` of the request's JSON body."""
    (root / "stratus.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "shape"

            [api]
            {api}

            [services.shape]
            kind = "lambda"
            path = "/shape"
            """
        )
    )
    package = root / "services" / "shape" / "shape"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(SHAPE_HANDLER)
    return root


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = DevStack(make_shape(tmp_path_factory.mktemp("fidelity-shape")))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A stage that allows a burst of 2 requests and refills one token every 1,000 s."""
    stack = DevStack(make_shape(tmp_path_factory.mktemp("fidelity-gate"), "throttle = { rate = 0.001, burst = 2 }"))
    yield stack
    stack.stop()


def returning(stack: DevStack, result: Any) -> Any:
    """What the client gets when the function returns ``result``."""
    return stack.client.post("/shape/return", json={"result": result})


# ------------------------------------------------------------------------------------------------- full form


@pytest.mark.aws(PAYLOAD + " (response format 2.0: statusCode)")
def test_the_status_code_is_the_responses_status(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 418, "body": "short and stout"})
    assert (response.status_code, response.text) == (418, "short and stout")


@pytest.mark.aws(PAYLOAD + " (response format 2.0: headers)")
def test_the_headers_are_the_responses_headers(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 200, "headers": {"x-custom": "v1", "content-type": "text/csv"},
                                 "body": "a,b"})  # fmt: skip
    assert response.headers["x-custom"] == "v1"
    assert response.headers["content-type"] == "text/csv"


@pytest.mark.aws(
    "OBS fujiwara/ridge#9 (text/plain; charset=utf-8); quarkusio/quarkus#15909 and awslabs/aws-lambda-go-api-proxy#116 "
    "(a full-form response without content-type reaches the client as text/plain)"
)
def test_a_full_form_body_without_content_type_is_sent_as_text_plain(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 200, "body": '{"looks":"like json"}'})
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.json() == {"looks": "like json"}  # the body itself is untouched


@pytest.mark.aws(PAYLOAD + " ('In the response to the client, each cookie becomes a set-cookie header')")
def test_each_cookie_becomes_its_own_set_cookie_header(lab: DevStack) -> None:
    response = lab.client.get("/lab/cookies")
    assert response.status_code == 201
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2; Path=/"]


@pytest.mark.aws(PAYLOAD + " (cookies and headers in one response); OBS floci-io/floci#2391")
def test_cookies_and_headers_are_both_kept(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 200, "headers": {"x-kept": "yes"}, "cookies": ["s=1"], "body": ""})
    assert response.headers["x-kept"] == "yes"
    assert response.headers.get_list("set-cookie") == ["s=1"]


@pytest.mark.aws(
    "OBS aws/serverless-java-container#377 (the API Gateway team: with payload 2.0 the API does not read "
    "multiValueHeaders); Kludex/mangum#215 (cookies in multiValueHeaders are lost on a 2.0 API)"
)
def test_multi_value_headers_are_not_read_in_payload_2_0(shape: DevStack) -> None:
    multi = {"x-multi": ["1", "2"], "set-cookie": ["a=1"]}
    response = returning(shape, {"statusCode": 200, "multiValueHeaders": multi, "body": "ok"})
    assert response.status_code == 200 and response.text == "ok"
    assert "x-multi" not in response.headers
    assert "set-cookie" not in response.headers


@pytest.mark.aws(PAYLOAD + " (isBase64Encoded: true: the body is decoded for the client); OBS ministack#766")
def test_a_base64_encoded_body_is_decoded(lab: DevStack) -> None:
    response = lab.client.get("/lab/binary")
    assert response.status_code == 200
    assert response.content == bytes(range(8))
    assert response.headers["content-type"] == "application/octet-stream"


@pytest.mark.aws(PAYLOAD + " (isBase64Encoded: false: the body is sent as it is)")
def test_a_body_not_marked_base64_is_sent_as_it_is(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 200, "isBase64Encoded": False, "body": "aGk="})
    assert response.text == "aGk="


@pytest.mark.aws(PAYLOAD + " (a UTF-8 body)")
def test_a_non_ascii_body_is_sent_as_utf_8(shape: DevStack) -> None:
    response = returning(shape, {"statusCode": 200, "body": "héllo ✓"})
    assert response.content == "héllo ✓".encode()


# ---------------------------------------------------------------------------- results without a statusCode


@pytest.mark.aws(INFERRED + " statusCode 200, content-type application/json, body = the response")
def test_an_object_without_a_status_code_is_a_200_whose_body_is_that_json(lab: DevStack) -> None:
    response = lab.client.get("/lab/bare")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}


@pytest.mark.aws(INFERRED + " (so a body field without a statusCode is part of the JSON, not the body)")
def test_a_body_field_without_a_status_code_is_returned_as_json(shape: DevStack) -> None:
    response = returning(shape, {"body": "hi", "headers": {"x-not": "a header"}})
    assert response.status_code == 200
    assert response.json() == {"body": "hi", "headers": {"x-not": "a header"}}
    assert "x-not" not in response.headers


@pytest.mark.aws(INFERRED + " (example: 'Hello from Lambda!' -> body Hello from Lambda!)")
def test_a_string_result_is_the_body_itself(shape: DevStack) -> None:
    response = returning(shape, "Hello from Lambda!")
    assert response.status_code == 200
    assert response.text == "Hello from Lambda!"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.aws(INFERRED + " (any valid JSON: an array)")
def test_a_list_result_is_a_200_with_that_json(shape: DevStack) -> None:
    response = returning(shape, [1, "two", {"three": 3}])
    assert response.status_code == 200
    assert response.json() == [1, "two", {"three": 3}]


# -------------------------------------------------------------------------------------- the API's own errors


@pytest.mark.aws(TROUBLESHOOTING + " (a Lambda response in the wrong format: 500)")
def test_a_malformed_result_is_a_500_internal_server_error(lab: DevStack) -> None:
    response = lab.client.get("/lab/malformed")
    assert response.status_code == 500
    assert response.json() == INTERNAL_ERROR


@pytest.mark.aws(TROUBLESHOOTING + " (the function raised: 500)")
def test_a_function_error_is_a_500_internal_server_error(lab: DevStack) -> None:
    response = lab.client.get("/lab/raise")
    assert response.status_code == 500
    assert response.json() == INTERNAL_ERROR


@pytest.mark.aws(TROUBLESHOOTING + " (the runtime exited, Runtime.ExitError: a function error, 500)")
def test_a_runtime_that_exits_is_a_500_internal_server_error(lab: DevStack) -> None:
    response = lab.client.get("/lab/exit")
    assert response.status_code == 500
    assert response.json() == INTERNAL_ERROR


@pytest.mark.aws(
    "DOC https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html (a result that is not JSON serializable: "
    "Runtime.MarshalError, a function error); " + TROUBLESHOOTING
)
def test_a_result_the_runtime_cannot_marshal_is_a_500(shape: DevStack) -> None:
    response = shape.client.get("/shape/unserializable")
    assert response.status_code == 500
    assert response.json() == INTERNAL_ERROR


@pytest.mark.aws(
    'OBS cortexlabs/cortex#1225 (raw capture: 503 {"message":"Service Unavailable"} after the integration '
    "timeout); serverless/serverless#11222"
)
def test_an_integration_past_its_timeout_is_a_503_service_unavailable(lab: DevStack) -> None:
    response = lab.client.get("/slow/sleep", params={"s": 2})  # its integration timeout is 0.5 s
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
    assert response.elapsed.total_seconds() < 1.5


@pytest.mark.aws(
    "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html ('Clients may "
    "receive 429 Too Many Requests'); body: aws-behaviour.md A4"
)
def test_requests_past_the_stages_burst_are_429_too_many_requests(gate: DevStack) -> None:
    statuses = [returning(gate, "ok").status_code for _ in range(2)]
    limited = returning(gate, "ok")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too Many Requests"}
