"""Every OPTIONS request is answered 204, empty, before any route: a CORS preflight that the HTTP API sends to the
service passes, and none of the app's code runs for an OPTIONS (it may arrive through an unauthenticated route)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import Request
from stratus_common.app import create_app
from stratus_common.lambda_handler import make_handler

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp

MakeClient = Callable[["ASGIApp"], "TestClient"]
PREFLIGHT = {"origin": "http://localhost:8080", "access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type"}  # fmt: skip


def _app(calls: list[str]) -> Any:
    app = create_app("S", service="s")

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:  # a service's own middleware sees no OPTIONS
        calls.append(request.method)
        return await call_next(request)

    @app.post("/things")
    def create_thing() -> dict[str, str]:
        calls.append("create_thing")
        return {}

    @app.api_route("/{path:path}", methods=["GET", "OPTIONS"], include_in_schema=False)
    def anything(path: str) -> dict[str, str]:  # a catch-all that would take OPTIONS (the gateway's upstreams)
        calls.append("anything")
        return {"path": path}

    return app


@pytest.mark.parametrize("path", ["/things", "/health", "/no/such/path", "/"])
def test_a_preflight_is_a_204_without_a_body_and_without_cors_headers(make_client: MakeClient, path: str) -> None:
    # GIVEN an app of create_app, its route for the path (or none), and a catch-all that takes OPTIONS
    calls: list[str] = []
    client = make_client(_app(calls))
    # WHEN a browser's preflight reaches it
    response = client.options(path, headers=PREFLIGHT)
    # THEN 204, no body
    assert (response.status_code, response.content) == (204, b"")
    # AND no CORS header: those are the HTTP API's, from stratus.toml's [api.cors]
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    # AND none of the app's code ran: not its middleware, not a route (not even one declaring OPTIONS)
    assert calls == []


@pytest.mark.parametrize("headers", [{}, {"origin": "http://localhost:8080"}, {"content-type": "application/json"}])
def test_any_other_options_request_is_the_same_empty_204(make_client: MakeClient, headers: dict[str, str]) -> None:
    calls: list[str] = []
    client = make_client(_app(calls))
    response = client.request("OPTIONS", "/things", headers=headers, content=b"{}" if headers else None)
    assert (response.status_code, response.content, calls) == (204, b"", [])


def test_other_methods_still_reach_the_app(make_client: MakeClient) -> None:
    calls: list[str] = []
    client = make_client(_app(calls))
    assert client.post("/things", headers=PREFLIGHT).status_code == 200
    assert client.get("/elsewhere").json() == {"path": "elsewhere"}
    assert client.put("/things").status_code == 405  # and a wrong method is still the app's 405
    assert calls == ["POST", "create_thing", "GET", "anything", "PUT"]


def test_through_the_lambda_handler_under_a_base_path(
    http_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the Lambda handler of a service routed at /worker, as API Gateway forwards a preflight to it
    monkeypatch.setenv("STRATUS_BASE_PATH", "/worker")
    calls: list[str] = []
    handler = make_handler(_app(calls))
    event = http_event("OPTIONS", "/worker/things", route_key="OPTIONS /worker/{proxy+}", headers=PREFLIGHT)
    # WHEN it is invoked THEN the Lambda answers 204 with an empty body, and the app's code did not run
    response = handler(event, None)
    assert response["statusCode"] == 204
    assert response.get("body", "") == ""
    assert calls == []
    json.dumps(response)  # a valid Lambda proxy response
