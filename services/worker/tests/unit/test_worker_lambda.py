"""worker.main.handler: the worker as Lambda sees it, with API Gateway HTTP API events (payload 2.0) under /worker."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.settings import get_settings
from worker.main import handler

if TYPE_CHECKING:
    from .conftest import Cloud

HttpEvent = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def routed_at_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is routed at /worker, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", "/worker")
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def test_health_under_the_base_path(http_event: HttpEvent) -> None:
    # GIVEN the event API Gateway sends for GET /worker/health
    event = http_event("GET", "/worker/health")
    # WHEN the Lambda handler is invoked
    response = handler(event, None)
    # THEN the app's /health answers with a payload 2.0 response
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = _json(response)
    assert (body["status"], body["service"]) == ("healthy", "worker")


def test_the_base_path_itself_is_the_root(http_event: HttpEvent) -> None:
    # GIVEN the event for GET /worker (route "ANY /worker")
    event = http_event("GET", "/worker", route_key="ANY /worker")
    # WHEN the handler is invoked
    response = handler(event, None)
    # THEN the app's / answers
    assert response["statusCode"] == 200
    assert _json(response)["message"] == "Worker service is running"


def test_jobs_through_the_handler(http_event: HttpEvent, cloud: Cloud) -> None:
    # GIVEN a POST /worker/jobs event with a base64 JSON body
    event = http_event("POST", "/worker/jobs", body={"type": "sum", "payload": {"numbers": [1, 2, 3]}})
    # WHEN the handler is invoked
    created = handler(event, None)
    # THEN the job is accepted, and its Location includes the base path
    assert created["statusCode"] == 202
    job_id = _json(created)["job_id"]
    assert created["headers"]["location"] == f"/worker/jobs/{job_id}"
    # AND the job can be read back through the handler at that Location
    read = handler(http_event("GET", created["headers"]["location"]), None)
    assert read["statusCode"] == 200
    assert _json(read)["status"] == "queued"


def test_unknown_routes_are_json_404s(http_event: HttpEvent) -> None:
    # GIVEN an event for a path the worker does not have
    # WHEN the handler is invoked
    response = handler(http_event("GET", "/worker/nope"), None)
    # THEN the 404 is the standard JSON error
    assert response["statusCode"] == 404
    assert _json(response) == {"error": {"code": "not_found", "message": "Not Found"}}
