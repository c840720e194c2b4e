"""HTTP API Lambda authorizers (REQUEST, payload 2.0, simple responses) as a client and the authorizer see them.

The auth lab (tests/e2e/lab.py) protects ``/keyed`` with an API key (identity source ``x-api-key``) and ``/tokened``
with a token (``Authorization``); its authorizer allows ``good-key`` and ``Bearer good-token``, raises for
``explode``, denies anything else, and appends every event it gets to ``<root>/calls.jsonl``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stratus.testing.launcher import DevStack

pytestmark = pytest.mark.e2e

LAMBDA_AUTHORIZER = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html"
SAMPLE = "OBS aws-powertools/powertools-lambda-python tests/events/apiGatewayAuthorizerV2Event.json"


def calls(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (identity source missing: 401 and the authorizer is not invoked)")
def test_a_request_without_its_identity_source_is_401_without_a_call(auth_lab: DevStack) -> None:
    before = len(calls(auth_lab))
    response = auth_lab.client.get("/keyed/echo")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert len(calls(auth_lab)) == before


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (an empty identity source value counts as missing)")
def test_an_empty_identity_source_is_401(auth_lab: DevStack) -> None:
    assert auth_lab.client.get("/keyed/echo", headers={"x-api-key": ""}).status_code == 401


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (simple response isAuthorized false: 403 Forbidden)")
def test_a_denied_request_is_403_forbidden(auth_lab: DevStack) -> None:
    response = auth_lab.client.get("/keyed/echo", headers={"x-api-key": "nope"})
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


@pytest.mark.aws(
    LAMBDA_AUTHORIZER + " (the authorizer fails: 500); DOC "
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html"
)
def test_an_authorizer_that_raises_is_500(auth_lab: DevStack) -> None:
    response = auth_lab.client.get("/keyed/echo", headers={"x-api-key": "explode"})
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (context reaches the integration at requestContext.authorizer.lambda, "
                 "values not stringified)")  # fmt: skip
def test_the_context_reaches_the_integration_unchanged(auth_lab: DevStack) -> None:
    event = auth_lab.client.get("/keyed/echo", headers={"x-api-key": "good-key"}).json()["event"]
    assert event["requestContext"]["authorizer"] == {"lambda": {"principalId": "p-1", "scopes": ["read"], "n": 1}}


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (payload 2.0 event: type REQUEST, identitySource holds the values); " + SAMPLE)
def test_the_authorizer_event_is_a_request_event_with_the_identity_values(auth_lab: DevStack) -> None:
    auth_lab.client.get("/tokened/echo?x=1", headers={"Authorization": "Bearer good-token"})
    last = calls(auth_lab)[-1]
    assert last["type"] == "REQUEST"
    assert last["identitySource"] == ["Bearer good-token"]
    assert last["routeKey"] == "ANY /tokened/{proxy+}"


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (routeArn arn:aws:execute-api:{region}:{account}:{api}/{stage}/{method}/{path})")
def test_the_route_arn_names_the_stage_method_and_path(auth_lab: DevStack) -> None:
    auth_lab.client.post("/keyed/a/b", headers={"x-api-key": "good-key"})
    arn = calls(auth_lab)[-1]["routeArn"]
    assert arn.startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert arn.endswith("/$default/POST/keyed/a/b")


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (the 2.0 authorizer event has no body); " + SAMPLE)
def test_the_authorizer_never_sees_the_body(auth_lab: DevStack) -> None:
    auth_lab.client.post("/keyed/echo", headers={"x-api-key": "good-key"}, content=b"secret body")
    assert calls(auth_lab)[-1]["hasBody"] is False


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (identity source $request.header.name is case-insensitive)")
def test_the_identity_header_is_matched_case_insensitively(auth_lab: DevStack) -> None:
    assert auth_lab.client.get("/keyed/echo", headers={"X-API-KEY": "good-key"}).status_code == 200


@pytest.mark.aws(LAMBDA_AUTHORIZER + " (caching disabled, ttl 0: the authorizer is invoked for every request)")
def test_without_caching_every_request_calls_the_authorizer(auth_lab: DevStack) -> None:
    before = len(calls(auth_lab))
    for _ in range(3):
        auth_lab.client.get("/keyed/echo", headers={"x-api-key": "good-key"})
    assert len(calls(auth_lab)) == before + 3


@pytest.mark.aws("DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html (preflight "
                 "requests are not authorized when CORS is configured)")  # fmt: skip
def test_a_preflight_is_answered_without_the_authorizer(auth_lab: DevStack) -> None:
    before = len(calls(auth_lab))
    response = auth_lab.client.options(
        "/tokened/echo", headers={"Origin": "https://good.example", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code in (200, 204)
    assert len(calls(auth_lab)) == before
