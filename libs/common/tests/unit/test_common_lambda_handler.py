"""make_handler: API Gateway HTTP API events (payload format 2.0) reach the app, under the service's base path."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, Request
from stratus_common.app import create_app
from stratus_common.lambda_handler import BasePathMiddleware, make_handler, normalise_base_path

HttpEvent = Callable[..., dict[str, Any]]


def _app() -> FastAPI:
    app = create_app("Worker Service", service="worker")

    @app.get("/")
    def root(request: Request) -> dict[str, Any]:
        return {"root": True, "root_path": request.scope["root_path"]}

    @app.get("/echo/{name}")
    def echo(name: str, request: Request, n: int = 0) -> dict[str, Any]:
        return {"name": name, "n": n, "url": str(request.url_for("echo", name=name))}

    @app.post("/things")
    def create(thing: dict[str, Any]) -> dict[str, Any]:
        return {"got": thing}

    return app


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def test_base_path_root_passes_paths_through(http_event: HttpEvent) -> None:
    # GIVEN a service at the API's root (no STRATUS_BASE_PATH)
    handler = make_handler(_app())
    # WHEN API Gateway invokes it for /health
    response = handler(http_event("GET", "/health", route_key="ANY /{proxy+}"), None)
    # THEN the app's /health answers, as a payload 2.0 response
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert _body(response)["status"] == "healthy"


def test_the_base_path_is_stripped(http_event: HttpEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a service routed at /worker, which the HTTP API forwards with the prefix
    monkeypatch.setenv("STRATUS_BASE_PATH", "/worker")
    handler = make_handler(_app())
    # WHEN API Gateway invokes it for /worker/health
    response = handler(http_event("GET", "/worker/health", route_key="ANY /worker/{proxy+}"), None)
    # THEN the app's /health answers
    assert response["statusCode"] == 200
    assert _body(response)["service"] == "worker"


@pytest.mark.parametrize("raw_path", ["/worker", "/worker/"])
def test_exactly_the_base_path_is_the_apps_root(
    http_event: HttpEvent, monkeypatch: pytest.MonkeyPatch, raw_path: str
) -> None:
    # GIVEN a service routed at /worker
    monkeypatch.setenv("STRATUS_BASE_PATH", "/worker")
    handler = make_handler(_app())
    # WHEN API Gateway invokes it for the prefix itself (route "ANY /worker")
    response = handler(http_event("GET", raw_path, route_key="ANY /worker"), None)
    # THEN the app's / answers (not a redirect), knowing it is mounted at /worker
    assert response["statusCode"] == 200
    assert _body(response) == {"root": True, "root_path": "/worker"}


def test_query_strings_and_urls_built_by_the_app(http_event: HttpEvent) -> None:
    # GIVEN a handler made with an explicit base path
    handler = make_handler(_app(), base_path="/worker/")
    # WHEN routes with a (percent-encoded) path parameter and a query string are invoked
    encoded = handler(http_event("GET", "/worker/echo/a%20b"), None)
    response = handler(http_event("GET", "/worker/echo/job-1", query="n=3"), None)
    # THEN the parameters arrive decoded, and URLs the app builds include the prefix
    assert _body(encoded)["name"] == "a b"
    assert response["statusCode"] == 200
    assert _body(response) == {
        "name": "job-1",
        "n": 3,
        "url": "https://abc123.execute-api.us-east-1.amazonaws.com/worker/echo/job-1",
    }


def test_a_base64_json_body_is_decoded(http_event: HttpEvent) -> None:
    # GIVEN a POST whose body API Gateway base64-encoded
    handler = make_handler(_app(), base_path="/worker")
    event = http_event("POST", "/worker/things", body={"a": 1})
    assert base64.b64decode(event["body"]) == b'{"a": 1}'
    # WHEN it is invoked
    response = handler(event, None)
    # THEN the app sees the JSON
    assert (response["statusCode"], _body(response)) == (200, {"got": {"a": 1}})


def test_a_path_that_only_shares_the_prefix_is_not_stripped(http_event: HttpEvent) -> None:
    # GIVEN a service at /worker
    handler = make_handler(_app(), base_path="/worker")
    # WHEN a path that merely starts with the same letters arrives
    response = handler(http_event("GET", "/workers/health"), None)
    # THEN it is not mistaken for /s/health or /health: it is not found, as JSON
    assert response["statusCode"] == 404
    assert _body(response)["error"]["code"] == "not_found"


def test_app_errors_come_back_as_json_responses(http_event: HttpEvent) -> None:
    # GIVEN a service at /worker
    handler = make_handler(_app(), base_path="/worker")
    # WHEN a method the route does not allow is used
    response = handler(http_event("DELETE", "/worker/health"), None)
    # THEN the 405 is in the standard JSON shape
    assert response["statusCode"] == 405
    assert _body(response)["error"]["code"] == "method_not_allowed"


def test_the_handler_survives_asyncio_run_in_the_same_thread(http_event: HttpEvent) -> None:
    # GIVEN a handler, and other code that ran (and closed) its own event loop in this thread
    handler = make_handler(_app())

    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    # WHEN the handler is invoked twice
    first = handler(http_event("GET", "/liveness"), None)
    second = handler(http_event("GET", "/liveness"), None)
    # THEN both invocations work
    assert first["statusCode"] == second["statusCode"] == 200


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, "/"), ("", "/"), ("/", "/"), ("worker", "/worker"), ("/worker/", "/worker")]
)
def test_normalise_base_path(raw: str | None, expected: str) -> None:
    # GIVEN a base path written any usual way
    # WHEN it is normalised
    # THEN it is "/prefix" or "/"
    assert normalise_base_path(raw) == expected


def test_the_middleware_leaves_other_scopes_alone() -> None:
    # GIVEN the middleware around an app that records the scope it gets
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    middleware = BasePathMiddleware(app, "/worker")
    # WHEN a lifespan scope and an HTTP scope outside the base path pass through
    asyncio.run(middleware({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    asyncio.run(middleware({"type": "http", "path": "/health", "root_path": ""}, None, None))  # type: ignore[arg-type]
    # THEN neither is changed
    assert seen == [{"type": "lifespan"}, {"type": "http", "path": "/health", "root_path": ""}]
