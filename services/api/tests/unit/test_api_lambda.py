"""api.main.handler: the service as Lambda sees it, with API Gateway HTTP API events (payload 2.0)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from api.main import handler
from stratus_common.settings import get_settings

from stratus.events.httpapi import parse_response
from stratus.events.samples import http

if TYPE_CHECKING:
    from conftest import Cloud

BASE_PATH = "/users"


@pytest.fixture(autouse=True)
def routed_at_base_path(monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> None:
    """The service is routed at /users, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", BASE_PATH)
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    return json.loads(parse_response(response).body)


def test_health_through_the_handler() -> None:
    # GIVEN the event API Gateway sends for GET /users/health
    event = http(method="GET", path=f"{BASE_PATH}/health")
    # WHEN the Lambda handler is invoked
    response = handler(event, None)
    # THEN the app's /health answers with a payload 2.0 response
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = _json(response)
    assert (body["status"], body["service"]) == ("healthy", "api")


def test_create_then_read_through_the_handler() -> None:
    # GIVEN POST /users (route "ANY /users": the base path itself is the app's /)
    created = handler(
        http(method="POST", path=BASE_PATH, json={"name": "Ann", "email": "ann@example.com"}),
        None,
    )
    # THEN the user is created, and its Location is a URL of the HTTP API, under /users
    assert created["statusCode"] == 201
    user = _json(created)
    location = created["headers"]["location"]
    assert location == f"{BASE_PATH}/{user['user_id']}"
    # WHEN the Location is read back
    read = handler(http(method="GET", path=location), None)
    # THEN it is the user
    assert read["statusCode"] == 200
    assert _json(read) == user
    assert read["headers"]["etag"] == '"1"'


def test_the_base_path_itself_lists_the_users() -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}?limit=5"), None)
    assert response["statusCode"] == 200
    assert _json(response) == {"items": [], "next_cursor": None}


def test_an_unknown_path_is_a_json_404() -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}/no/such/path"), None)
    assert response["statusCode"] == 404
    assert _json(response)["error"]["code"] == "not_found"
