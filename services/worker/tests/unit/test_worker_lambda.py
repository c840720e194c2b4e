"""worker.main.handler: the worker as Lambda sees it, with API Gateway HTTP API events (payload 2.0) under /worker."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.settings import get_settings
from worker.main import handler

from stratus.events.httpapi import parse_response
from stratus.events.samples import http

if TYPE_CHECKING:
    from .conftest import Cloud


@pytest.fixture(autouse=True)
def routed_at_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is routed at /worker, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", "/worker")
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    return json.loads(parse_response(response).body)


def test_health_under_the_base_path() -> None:
    # GIVEN the event API Gateway sends for GET /worker/health
    event = http(method="GET", path="/worker/health")
    # WHEN the Lambda handler is invoked
    response = handler(event, None)
    # THEN the app's /health answers with a payload 2.0 response
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = _json(response)
    assert (body["status"], body["service"]) == ("healthy", "worker")


def test_the_base_path_itself_is_the_root() -> None:
    # GIVEN the event for GET /worker (route "ANY /worker")
    event = http(method="GET", path="/worker")
    # WHEN the handler is invoked
    response = handler(event, None)
    # THEN the app's / answers
    assert response["statusCode"] == 200
    assert _json(response)["message"] == "Worker service is running"


def test_jobs_through_the_handler(cloud: Cloud) -> None:
    # GIVEN a POST /worker/jobs event with a JSON body
    event = http(method="POST", path="/worker/jobs", json={"type": "sum", "payload": {"numbers": [1, 2, 3]}})
    # WHEN the handler is invoked
    created = handler(event, None)
    # THEN the job is accepted, and its Location includes the base path
    assert created["statusCode"] == 202
    job_id = _json(created)["job_id"]
    assert created["headers"]["location"] == f"/worker/jobs/{job_id}"
    # AND the job can be read back through the handler at that Location
    read = handler(http(method="GET", path=created["headers"]["location"]), None)
    assert read["statusCode"] == 200
    assert _json(read)["status"] == "queued"


def test_the_task_alias_and_an_unknown_type_through_the_handler(cloud: Cloud) -> None:
    # GIVEN the POST /worker/jobs events of the source documents: {"task": "process_data"} and {"task": "test"}
    # WHEN the handler is invoked
    accepted = handler(http(method="POST", path="/worker/jobs", json={"task": "process_data"}), None)
    refused = handler(http(method="POST", path="/worker/jobs", json={"task": "test"}), None)
    # THEN the first is accepted, and the second is a 422 naming the field and the known types
    assert accepted["statusCode"] == 202
    assert refused["statusCode"] == 422
    assert _json(refused)["error"]["details"] == [
        {
            "field": "body.task",
            "message": "unknown job type 'test'; one of: echo, fail, process_data, sum",
            "type": "unknown_job_type",
        }
    ]


def test_unknown_routes_are_json_404s() -> None:
    # GIVEN an event for a path the worker does not have
    # WHEN the handler is invoked
    response = handler(http(method="GET", path="/worker/nope"), None)
    # THEN the 404 is the standard JSON error
    assert response["statusCode"] == 404
    assert _json(response) == {"error": {"code": "not_found", "message": "Not Found"}}
