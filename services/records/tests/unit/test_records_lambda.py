"""records.main.handler: the service as Lambda sees it, with API Gateway HTTP API events (payload 2.0)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from records.main import handler
from stratus_common.settings import get_settings
from stratus_common.testing import authorizer_context

from stratus.events.httpapi import parse_response
from stratus.events.samples import http

BASE_PATH = "/records"
GAME = {"player_id": "alice", "text_id": "text-1", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}


@pytest.fixture(autouse=True)
def routed_at_base_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service is routed at /records, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", BASE_PATH)
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    return json.loads(parse_response(response).body)


def test_health_through_the_handler(database: str) -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}/health"), None)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = _json(response)
    assert (body["status"], body["service"], body["database"]) == ("healthy", "records", "reachable")


def test_the_base_path_itself_is_the_root() -> None:
    response = handler(http(method="GET", path=BASE_PATH), None)
    assert response["statusCode"] == 200
    assert _json(response)["service"] == "records"


def test_a_post_through_the_handler_is_stored_under_the_base_path(game: Any) -> None:
    # GIVEN the event API Gateway sends for POST /records by signed-in alice (route "ANY /records")
    event = http(method="POST", path=BASE_PATH, json=GAME, authorizer=authorizer_context("alice"))
    # WHEN the handler is invoked
    response = handler(event, None)
    # THEN the record is created, and its Location is a URL of the HTTP API
    assert response["statusCode"] == 201, _json(response)
    record = _json(response)
    assert response["headers"]["location"] == f"{BASE_PATH}/{record['record_id']}"
    # AND it can be read back at that path
    again = handler(
        http(method="GET", path=response["headers"]["location"], authorizer=authorizer_context("bob")), None
    )
    assert _json(again) == record


def test_the_leaderboard_through_the_handler(game: Any) -> None:
    handler(http(method="POST", path=BASE_PATH, json=GAME, authorizer=authorizer_context("alice")), None)
    event = http(
        method="GET", path=f"{BASE_PATH}/leaderboard?difficulty=medium&period=day", authorizer=authorizer_context("bob")
    )
    response = handler(event, None)
    assert response["statusCode"] == 200
    assert [(e["rank"], e["player_id"], e["wpm"]) for e in _json(response)] == [(1, "alice", 72.5)]


def test_an_event_without_the_authorizers_context_is_401(database: str) -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}/players/alice"), None)
    assert response["statusCode"] == 401


def test_an_event_with_an_action_and_a_request_context_is_http() -> None:
    event = {**http(method="GET", path=f"{BASE_PATH}/"), "action": "health"}
    assert _json(handler(event, None))["service"] == "records"


def test_an_unknown_path_is_a_json_404() -> None:
    response = handler(
        http(method="GET", path=f"{BASE_PATH}/no-such-path", authorizer=authorizer_context("alice")), None
    )
    assert response["statusCode"] == 404
    assert _json(response)["error"]["code"] == "not_found"
