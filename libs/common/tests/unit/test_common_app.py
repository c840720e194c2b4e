"""create_app: the standard probes every service has, and readiness checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from stratus_common.app import add_readiness_check, create_app

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
    # THEN it is 503 with the failing checks and their error text
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"table": "could not connect to dynamodb", "flag": "check returned False"},
    }


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
    assert response.json()["checks"] == {"slow": "timed out after 0.05 s"}


def test_the_app_renders_errors_as_json(make_client: MakeClient) -> None:
    # GIVEN an app from create_app
    client = make_client(create_app("S", service="s"))
    # WHEN an unknown route is called
    response = client.get("/missing")
    # THEN the error handlers are installed
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
