"""create_app: the standard probes every service has, readiness checks, the bound on bodies, the documented errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from stratus_common.app import add_readiness_check, create_app
from stratus_common.body_limit import DEFAULT_MAX_BODY_BYTES
from stratus_common.errors import ErrorResponse, error_responses

if TYPE_CHECKING:
    import pytest
    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp

MakeClient = Callable[["ASGIApp"], "TestClient"]


def test_health_reports_service_environment_version_and_uptime(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a service deployed as version 2.0.1 in dev
    monkeypatch.setenv("STRATUS_SERVICE", "worker")
    monkeypatch.setenv("STRATUS_ENV", "dev")
    monkeypatch.setenv("SERVICE_VERSION", "2.0.1")
    app = create_app("Worker Service")
    # WHEN /health is called
    body = make_client(app).get("/health").json()
    # THEN it reports all of it
    assert body.pop("uptime_seconds") >= 0
    assert body == {"status": "healthy", "service": "worker", "environment": "dev", "version": "2.0.1"}


def test_explicit_service_and_version_win(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an app given its service name and version in code
    monkeypatch.setenv("SERVICE_VERSION", "9.9.9")
    app = create_app("Worker Service", service="worker", version="1.0.0")
    # WHEN /health and the OpenAPI document are read
    client = make_client(app)
    health = client.get("/health").json()
    # THEN they use the explicit values
    assert (health["service"], health["version"], health["environment"]) == ("worker", "1.0.0", "local")
    assert client.get("/openapi.json").json()["info"] == {"title": "Worker Service", "version": "1.0.0"}


def test_uptime_grows(make_client: MakeClient) -> None:
    # GIVEN a running app
    client = make_client(create_app("S", service="s"))
    first = client.get("/health").json()["uptime_seconds"]
    # WHEN time passes
    time.sleep(0.02)
    # THEN the uptime is larger
    assert client.get("/health").json()["uptime_seconds"] > first


def test_health_details_are_added(make_client: MakeClient) -> None:
    # GIVEN a service that adds its port to /health
    app = create_app("Web Service", service="web", health_details=lambda: {"port": "8080"})
    # WHEN /health is called
    body = make_client(app).get("/health").json()
    # THEN the extra field is there with the standard ones
    assert body["port"] == "8080"
    assert body["status"] == "healthy"


def test_liveness_and_readiness_without_checks(make_client: MakeClient) -> None:
    # GIVEN an app with no readiness checks
    client = make_client(create_app("S", service="s"))
    # WHEN the probes are called
    # THEN the process is alive and ready
    assert client.get("/liveness").json() == {"status": "alive"}
    response = client.get("/readiness")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readiness_passes_when_every_check_passes(make_client: MakeClient) -> None:
    # GIVEN a sync and an async check that pass
    app = create_app("S", service="s")
    calls: list[str] = []

    async def async_check() -> None:
        calls.append("async")

    add_readiness_check(app, "table", lambda: calls.append("sync"))
    add_readiness_check(app, "queue", async_check)
    # WHEN /readiness is called
    response = make_client(app).get("/readiness")
    # THEN it is ready and both checks ran
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    assert sorted(calls) == ["async", "sync"]


def test_readiness_is_503_naming_each_failing_check(make_client: MakeClient) -> None:
    # GIVEN one passing check, one raising and one returning False
    app = create_app("S", service="s")

    def table() -> None:
        raise ConnectionError("could not connect to dynamodb")

    add_readiness_check(app, "ok", lambda: None)
    add_readiness_check(app, "table", table)
    add_readiness_check(app, "flag", lambda: False)
    # WHEN /readiness is called
    response = make_client(app).get("/readiness")
    # THEN it is 503 with the failing checks and a generic outcome each
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "checks": {"table": "unavailable", "flag": "unavailable"}}


def test_a_slow_check_times_out(make_client: MakeClient) -> None:
    # GIVEN an async check slower than its timeout
    app = create_app("S", service="s")

    async def slow() -> None:
        await asyncio.sleep(5)

    add_readiness_check(app, "slow", slow, timeout=0.05)
    # WHEN /readiness is called
    started = time.monotonic()
    response = make_client(app).get("/readiness")
    # THEN it fails quickly, saying it timed out
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"] == {"slow": "timed out"}


def test_the_app_renders_errors_as_json(make_client: MakeClient) -> None:
    # GIVEN an app from create_app
    client = make_client(create_app("S", service="s"))
    # WHEN an unknown route is called
    response = client.get("/missing")
    # THEN the error handlers are installed
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


class Thing(BaseModel):
    name: str = Field(max_length=10)


def _app_with_a_body_route(**kwargs: Any) -> FastAPI:
    app = create_app("S", service="s", **kwargs)

    @app.post("/things", status_code=201)
    def create_thing(thing: Thing, limit: int = 10) -> dict[str, str]:
        return {"name": thing.name}

    @app.get("/things/{thing_id}", responses=error_responses(404))
    def get_thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    return app


def test_the_openapi_422_is_the_error_shape_the_app_sends(make_client: MakeClient) -> None:
    # GIVEN an app with routes that take a body, a query and a path parameter
    client = make_client(_app_with_a_body_route())
    document = client.get("/openapi.json").json()
    # WHEN a request fails validation
    sent = client.post("/things", json={"name": "far too long a name"}).json()
    # THEN every documented 422 is the ErrorResponse it gets, and FastAPI's own shape is not in the document
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, method in (("/things", "post"), ("/things/{thing_id}", "get")):
        assert document["paths"][path][method]["responses"]["422"]["content"]["application/json"]["schema"] == error
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]
    assert ErrorResponse.model_validate(sent).error.code == "validation_error"
    assert set(document["components"]["schemas"]["ErrorResponse"]["required"]) == {"error"}


def test_operations_with_a_body_document_the_413(make_client: MakeClient) -> None:
    # GIVEN an app with the default bound, and one without any
    bounded = make_client(_app_with_a_body_route()).get("/openapi.json").json()
    unbounded = make_client(_app_with_a_body_route(max_body_bytes=None)).get("/openapi.json").json()
    # THEN the bounded app documents the 413 where there is a body, and only there
    assert "413" in bounded["paths"]["/things"]["post"]["responses"]
    assert "413" not in bounded["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert "413" not in unbounded["paths"]["/things"]["post"]["responses"]


def test_a_body_over_the_bound_is_a_413_before_validation(make_client: MakeClient) -> None:
    # GIVEN an app whose bodies are bounded to 64 bytes
    client = make_client(_app_with_a_body_route(max_body_bytes=64))
    # WHEN a body of 64 bytes and one of 65 bytes are posted (both invalid for the model)
    at_bound = client.post("/things", content=b"x" * 64, headers={"content-type": "application/json"})
    over = client.post("/things", content=b"x" * 65, headers={"content-type": "application/json"})
    # THEN the first reaches the app (a 400: not JSON), the second is refused before parsing
    assert at_bound.status_code == 400
    assert over.status_code == 413
    assert over.json() == {
        "error": {"code": "payload_too_large", "message": "The request body must be at most 64 bytes"}
    }


def test_a_streamed_body_is_refused_once_it_passes_the_bound(make_client: MakeClient) -> None:
    # GIVEN a body sent in chunks, without Content-Length
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 10

    # WHEN it passes the 64-byte bound THEN it is a 413; a small streamed body gets through, whole
    client = make_client(_app_with_a_body_route(max_body_bytes=64))
    assert client.post("/things", content=chunks(), headers={"content-type": "application/json"}).status_code == 413
    small = client.post("/things", content=iter([b'{"name":', b' "ok"}']), headers={"content-type": "application/json"})
    assert (small.status_code, small.json()) == (201, {"name": "ok"})


def test_the_default_bound_is_a_mebibyte(make_client: MakeClient) -> None:
    # GIVEN an app with the default bound
    client = make_client(_app_with_a_body_route())
    # WHEN a body just over 1 MiB is posted THEN it is a 413; just under, the app sees it
    assert DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    over = client.post(
        "/things", content=b" " * (DEFAULT_MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
    )
    under = client.post("/things", content=b" " * DEFAULT_MAX_BODY_BYTES, headers={"content-type": "application/json"})
    assert (over.status_code, under.status_code) == (413, 400)


def test_requests_without_a_body_are_not_bounded(make_client: MakeClient) -> None:
    # GIVEN a bound of 1 byte WHEN a GET announces a large body THEN it is served as usual
    client = make_client(_app_with_a_body_route(max_body_bytes=1))
    assert client.get("/things/7", headers={"content-length": "1000000"}).json() == {"thing_id": 7}
