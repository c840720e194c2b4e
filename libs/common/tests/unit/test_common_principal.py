"""The caller, as the gateway's authorizer passed it in the Lambda event; never from a header."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from stratus_common.errors import install_error_handlers
from stratus_common.principal import Principal, current_principal, current_user, principal_of, require_scopes

USER = {"principalId": "user:u-1", "kind": "user", "subject": "u-1", "scopes": ["profile", "texts:write"],
        "authMode": "token", "username": "ada"}  # fmt: skip
CLIENT = {"principalId": "client:c-1", "kind": "client", "subject": "c-1", "scopes": ["api"], "authMode": "token",
          "clientId": "c-1"}  # fmt: skip
KEY = {
    "principalId": "key:k-1",
    "kind": "api_key",
    "keyId": "k-1",
    "keyName": "ci",
    "scopes": [],
    "authMode": "api_key",
}


def app_with(context: dict[str, Any] | None) -> TestClient:
    """An app whose requests carry *context* as requestContext.authorizer.lambda, as Mangum passes the event."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/who")
    def who(principal: Principal = Depends(current_principal)) -> dict[str, Any]:  # noqa: B008
        return {"id": principal.principal_id, "subject": principal.subject, "scopes": sorted(principal.scopes)}

    @app.get("/me")
    def me(principal: Principal = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"username": principal.username or ""}

    @app.post("/texts")
    def write(principal: Principal = Depends(require_scopes("texts:write"))) -> dict[str, str]:  # noqa: B008
        return {"by": principal.subject}

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if context is not None and scope["type"] == "http":
            scope = {**scope, "aws.event": {"requestContext": {"authorizer": {"lambda": context}}}}
        await app(scope, receive, send)

    return TestClient(asgi)  # type: ignore[arg-type]


def test_a_user_is_read_from_the_authorizer_context() -> None:
    client = app_with(USER)
    assert client.get("/who").json() == {"id": "user:u-1", "subject": "u-1", "scopes": ["profile", "texts:write"]}
    assert client.get("/me").json() == {"username": "ada"}
    assert client.post("/texts").json() == {"by": "u-1"}


def test_an_api_key_is_a_principal_but_not_a_user() -> None:
    client = app_with(KEY)
    assert client.get("/who").json()["subject"] == "k-1"
    forbidden = client.get("/me")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "user_required"


def test_a_missing_scope_is_403_naming_it() -> None:
    answer = app_with(CLIENT).post("/texts")
    assert answer.status_code == 403
    assert answer.json()["error"] == {"code": "insufficient_scope", "message": "Missing scope: texts:write",
                                      "details": {"missing_scopes": ["texts:write"]}}  # fmt: skip


@pytest.mark.parametrize("context", [None, {}, {"kind": "user"}, {"principalId": "", "kind": "user"}])
def test_no_authorizer_context_is_401_and_a_header_cannot_stand_in(context: dict[str, Any] | None) -> None:
    client = app_with(context)
    answer = client.get("/who", headers={"x-principal": "user:admin", "authorization": "Bearer x"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


def test_scopes_may_arrive_as_a_string() -> None:
    principal = principal_of(
        Request(
            {"type": "http", "aws.event": {"requestContext": {"authorizer": {"lambda": {**USER, "scopes": "a b"}}}}}
        )
    )
    assert principal is not None and principal.scopes == frozenset({"a", "b"}) and principal.has_scopes("a", "b")
