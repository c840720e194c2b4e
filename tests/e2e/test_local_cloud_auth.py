"""Route protection in `stratus dev`: the HTTP API calls the Lambda authorizer as API Gateway does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_auth_lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = DevStack(make_auth_lab(tmp_path_factory.mktemp("auth")))
    yield stack
    stack.stop()


def calls(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_request_without_the_identity_source_is_401_and_the_authorizer_is_not_called(auth: DevStack) -> None:
    before = len(calls(auth))
    response = auth.client.get("/keyed/echo")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert auth.client.get("/tokened/echo", headers={"x-api-key": "good-key"}).status_code == 401
    assert len(calls(auth)) == before


def test_a_denied_request_is_403(auth: DevStack) -> None:
    response = auth.client.get("/keyed/echo", headers={"x-api-key": "wrong"})
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_an_allowed_request_carries_the_authorizers_context_to_the_integration(auth: DevStack) -> None:
    response = auth.client.get("/keyed/echo", headers={"X-Api-Key": "good-key"})
    assert response.status_code == 200, response.text
    event = response.json()["event"]
    assert event["requestContext"]["authorizer"] == {"lambda": {"principalId": "p-1", "scopes": ["read"], "n": 1}}
    last = calls(auth)[-1]
    assert last["type"] == "REQUEST" and last["identitySource"] == ["good-key"] and not last["hasBody"]
    assert last["routeKey"] == "ANY /keyed/{proxy+}"
    assert last["routeArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert last["routeArn"].endswith("/$default/GET/keyed/echo")
    token = auth.client.get("/tokened/echo", headers={"Authorization": "Bearer good-token"})
    assert token.status_code == 200


def test_an_unprotected_route_has_no_authorizer_context(auth: DevStack) -> None:
    event = auth.client.get("/open/echo").json()["event"]
    assert "authorizer" not in event["requestContext"]


def test_an_authorizer_that_fails_gives_500(auth: DevStack) -> None:
    response = auth.client.get("/keyed/echo", headers={"x-api-key": "explode"})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


@pytest.mark.parametrize(
    "path",
    [
        "/keyed/../echo",
        "/keyed/%2e%2e/echo",
        "//keyed/echo",
        "/keyed//echo",
        "/keyed%2Fecho",
        "/guard/../keyed/echo",
        "/open/../keyed/echo",
        "/open/%2e%2e/keyed/echo",
        "/open/..%2fkeyed/echo",
        "/%6beyed/echo",
    ],
)
def test_path_tricks_never_reach_a_protected_service_without_credentials(auth: DevStack, path: str) -> None:
    status, body = auth.raw("GET", path)
    assert status in (401, 404), (path, status, body)


@pytest.mark.parametrize("path", ["/KEYED/echo", "/keyed./echo", "/Keyed/echo"])
def test_other_spellings_are_other_routes(auth: DevStack, path: str) -> None:
    # routes are case-sensitive: these go to the open root service, never to `keyed` without credentials
    response = auth.client.get(path)
    assert response.status_code == 200
    assert response.json()["event"]["routeKey"] == "$default"


def test_cors_preflight_never_reaches_the_authorizer(auth: DevStack) -> None:
    before = len(calls(auth))
    response = auth.client.options(
        "/keyed/echo", headers={"Origin": "https://good.example", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 200
    assert response.json()["event"]["routeKey"] == "OPTIONS /keyed/{proxy+}"
    assert len(calls(auth)) == before


def test_decisions_are_cached_by_identity_for_the_ttl(tmp_path: Path) -> None:
    stack = DevStack(make_auth_lab(tmp_path, ttl=300))
    try:
        for _ in range(3):
            assert stack.client.get("/keyed/echo", headers={"x-api-key": "good-key"}).status_code == 200
        for _ in range(2):
            assert stack.client.get("/keyed/echo", headers={"x-api-key": "wrong"}).status_code == 403
        # the route key is an identity source (stratus validate insists, as the routes' modes differ), so the
        # decision made for /keyed is not reused on /tokened: the authorizer is asked again, once
        for _ in range(2):
            assert stack.client.get("/tokened/echo", headers={"x-api-key": "good-key"}).status_code == 200
    finally:
        stack.stop()
    assert [c["identitySource"] for c in calls(stack)] == [
        ["good-key", "ANY /keyed/{proxy+}"],
        ["wrong", "ANY /keyed/{proxy+}"],
        ["good-key", "ANY /tokened/{proxy+}"],
    ]
