"""text.main.handler: the service as Lambda sees it: API Gateway HTTP API events (payload 2.0) that carry the
gateway authorizer's context, and direct invocations (``aws lambda invoke --payload '{"action": ...}'``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.settings import get_settings
from text.direct import KNOWN_ACTIONS, dispatch
from text.main import handler
from text.seed import SEED_TEXTS

from stratus.events.httpapi import parse_response
from stratus.events.samples import http

if TYPE_CHECKING:
    from .conftest import Cloud

Authorizer = Callable[..., dict[str, Any]]
BASE_PATH = "/texts"
CONTENT = "Sphinx of black quartz, judge my vow."


@pytest.fixture(autouse=True)
def routed_at_base_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service is routed at /texts, as the local cloud and Terraform configure it."""
    monkeypatch.setenv("STRATUS_BASE_PATH", BASE_PATH)
    get_settings.cache_clear()


def _json(response: dict[str, Any]) -> Any:
    return json.loads(parse_response(response).body)


# --- HTTP API events ------------------------------------------------------------------------------------------------


def test_health_through_the_handler() -> None:
    # GIVEN the event API Gateway sends for GET /texts/health
    event = http(method="GET", path=f"{BASE_PATH}/health")
    # WHEN the Lambda handler is invoked
    response = handler(event, None)
    # THEN the app's /health answers with a payload 2.0 response
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = _json(response)
    assert (body["status"], body["service"]) == ("healthy", "text")


def test_the_base_path_itself_is_the_root() -> None:
    response = handler(http(method="GET", path=BASE_PATH), None)
    assert response["statusCode"] == 200
    assert _json(response)["service"] == "text"


def test_an_unknown_path_is_a_json_404() -> None:
    response = handler(http(method="GET", path=f"{BASE_PATH}/no/such/path"), None)
    assert response["statusCode"] == 404


def test_a_random_text_through_the_handler(cloud: Cloud, authorizer: Authorizer) -> None:
    event = http(method="GET", path=f"{BASE_PATH}/random?difficulty=hard", authorizer=authorizer(scopes=[]))
    response = handler(event, None)
    assert response["statusCode"] == 200
    assert _json(response)["content"] in SEED_TEXTS["hard"]


def test_a_writer_posts_a_text_through_the_handler(cloud: Cloud, authorizer: Authorizer) -> None:
    # GIVEN the event of POST /texts once the authorizer let in a caller with texts:write
    body = {"difficulty": "easy", "content": CONTENT}
    event = http(method="POST", path=BASE_PATH, json=body, authorizer=authorizer("alice"))
    # WHEN the handler is invoked
    response = handler(event, None)
    # THEN the text is created, and its Location is under the service's path
    assert response["statusCode"] == 201
    created = _json(response)
    assert created["content"] == CONTENT
    assert response["headers"]["location"] == f"{BASE_PATH}/{created['text_id']}"
    item = cloud.item(created["text_id"])
    assert item is not None
    assert item["created_by"] == {"S": "user:alice"}
    # AND reading the Location gives it back
    again = handler(
        http(method="GET", path=response["headers"]["location"], authorizer=authorizer("bob", scopes=[])), None
    )
    assert _json(again) == created


# --- direct invocations ---------------------------------------------------------------------------------------------


def test_direct_health() -> None:
    answer = handler({"action": "health"}, None)
    assert (answer["status"], answer["service"]) == ("healthy", "text")


def test_direct_random_text(cloud: Cloud) -> None:
    answer = handler({"action": "get_random_text", "difficulty": "easy"}, None)
    assert set(answer) == {"text_id", "difficulty", "content", "word_count", "source", "created_at"}
    assert answer["difficulty"] == "easy"
    assert answer["content"] in SEED_TEXTS["easy"]
    assert json.loads(json.dumps(answer)) == answer  # plain JSON


def test_direct_text_by_id(cloud: Cloud) -> None:
    cloud.put("user-1", "medium", CONTENT)
    assert handler({"action": "get_text", "text_id": "user-1"}, None)["content"] == CONTENT
    assert handler({"action": "get_text", "text_id": "seed-easy-02"}, None)["content"] == SEED_TEXTS["easy"][1]
    assert handler({"action": "get_text", "text_id": "user-2"}, None) == {
        "error": {"code": "not_found", "message": "No text 'user-2'"}
    }


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "get_random_text"}, "difficulty"),
        ({"action": "get_random_text", "difficulty": "expert"}, "difficulty"),
        ({"action": "get_random_text", "difficulty": ["easy"]}, "difficulty"),
        ({"action": "get_text"}, "text_id"),
        ({"action": "get_text", "text_id": "../etc/passwd"}, "text_id"),
        ({"action": "get_text", "text_id": 12}, "text_id"),
    ],
)
def test_a_direct_invocation_with_a_bad_argument_names_it(cloud: Cloud, event: dict[str, Any], field: str) -> None:
    answer = handler(event, None)
    assert answer["error"]["code"] == "validation_error"
    assert [detail["field"] for detail in answer["error"]["details"]] == [field]


@pytest.mark.parametrize("event", [{"action": "delete_everything"}, {"action": 3}, {}, {"difficulty": "easy"}])
def test_an_unknown_action_names_the_known_ones(event: dict[str, Any]) -> None:
    answer = handler(event, None)
    assert answer["error"]["code"] == "unknown_action"
    assert answer["error"]["details"] == {"known_actions": ["get_random_text", "get_text", "health"]}
    assert "get_random_text, get_text, health" in answer["error"]["message"]
    assert list(KNOWN_ACTIONS) == ["get_random_text", "get_text", "health"]


@pytest.mark.parametrize("event", ["get_random_text", ["health"], 42, None])
def test_an_event_that_is_not_an_object_is_an_error_object(event: Any) -> None:
    answer = handler(event, None)
    assert answer["error"]["code"] == "invalid_event"
    assert answer["error"]["details"] == {"known_actions": ["get_random_text", "get_text", "health"]}


def test_a_direct_invocation_when_the_table_is_down_is_an_error_object(cloud: Cloud) -> None:
    cloud.dynamodb.delete_table(TableName=cloud.table)
    answer = dispatch({"action": "get_random_text", "difficulty": "medium"})
    assert answer["error"]["code"] == "service_unavailable"


def test_an_event_with_a_request_context_and_an_action_is_http() -> None:
    # An "action" in an HTTP event (e.g. a query parameter's name) does not make it a direct invocation
    event = {**http(method="GET", path=f"{BASE_PATH}/health"), "action": "get_random_text"}
    assert handler(event, None)["statusCode"] == 200
