"""players.main.handler: the service as Lambda sees it, with API Gateway HTTP API events (payload 2.0) that carry
the gateway authorizer's context, as they do behind ``auth = "token"``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from players.main import handler
from stratus_common.settings import get_settings
from stratus_common.testing import authorizer_context

from stratus.events.httpapi import parse_response
from stratus.events.samples import http

if TYPE_CHECKING:
    from .conftest import Cloud

BASE_PATH = "/players"


@pytest.fixture(autouse=True)
def routed_at_base_path(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service is routed at /players, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", BASE_PATH)
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    return json.loads(parse_response(response).body)


def test_a_signed_in_user_creates_and_reads_their_profile() -> None:
    # GIVEN the event API Gateway sends for POST /players once the authorizer let alice in
    alice = authorizer_context("0b6f3a52-0d1e-4d43-9d4b-0c8d5b2f7e11")
    event = http(method="POST", path=BASE_PATH, json={"display_name": "Alice"}, authorizer=alice)
    # WHEN the Lambda handler is invoked
    response = handler(event, None)
    # THEN the profile is created under her sub, with a Location that works through the HTTP API
    assert response["statusCode"] == 201
    created = _json(response)
    assert created["player_id"] == alice["subject"]
    assert response["headers"]["location"] == f"{BASE_PATH}/{alice['subject']}"
    assert response["headers"]["etag"] == '"1"'
    # AND following the Location gives it back
    read = handler(http(method="GET", path=response["headers"]["location"], authorizer=alice), None)
    assert (read["statusCode"], _json(read)) == (200, created)
    # AND it is listed
    listed = handler(http(method="GET", path=f"{BASE_PATH}?limit=5", authorizer=alice), None)
    assert _json(listed) == {"items": [created], "next_cursor": None}


def test_without_the_authorizers_context_it_is_401() -> None:
    # GIVEN an event without requestContext.authorizer (a direct invoke, a route without auth)
    response = handler(http(method="POST", path=BASE_PATH, json={"display_name": "X"}), None)
    # THEN nobody is signed in
    assert response["statusCode"] == 401
    assert _json(response)["error"]["code"] == "unauthorized"


def test_an_api_key_cannot_create_a_profile() -> None:
    key = authorizer_context("k1", kind="api_key", scopes=[])
    event = http(method="POST", path=BASE_PATH, json={"display_name": "Bot"}, authorizer=key)
    response = handler(event, None)
    assert response["statusCode"] == 403
    assert _json(response)["error"]["code"] == "user_required"


def test_delete_takes_the_version_from_the_query() -> None:
    bob = authorizer_context("bob")
    handler(http(method="POST", path=BASE_PATH, json={"display_name": "Bob"}, authorizer=bob), None)
    stale = handler(http(method="DELETE", path=f"{BASE_PATH}/bob?version=2", authorizer=bob), None)
    assert stale["statusCode"] == 409
    deleted = handler(http(method="DELETE", path=f"{BASE_PATH}/bob?version=1", authorizer=bob), None)
    assert deleted["statusCode"] == 204


def test_health_through_the_handler() -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}/health"), None)
    assert response["statusCode"] == 200
    body = _json(response)
    assert (body["status"], body["service"]) == ("healthy", "players")


def test_an_unknown_path_is_a_json_404() -> None:
    response = handler(
        http(method="GET", path=f"{BASE_PATH}/alice/no/such/path", authorizer=authorizer_context("alice")), None
    )
    assert response["statusCode"] == 404
    assert _json(response)["error"]["code"] == "not_found"
