"""The text service through a running stack: set STRATUS_URL (the HTTP API's URL) to run.

Protected (auth = "token"): set STRATUS_TOKEN too; it is sent as a bearer token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from stratus_common.testing import stack_client, stack_url

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

pytestmark = pytest.mark.skipif(not stack_url(), reason="set STRATUS_URL to the HTTP API's URL to run")


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with stack_client("/texts") as client:
        yield client


def test_health(api: httpx.Client) -> None:
    # GIVEN the stack is up
    # WHEN /texts/health is called through the HTTP API
    response = api.get("/health")
    # THEN the service answers
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["service"] == "text"


def test_a_random_text(api: httpx.Client) -> None:
    # GIVEN the stack is up (a fresh one seeds the difficulty on first use)
    # WHEN a random easy text is asked for
    response = api.get("/random", params={"difficulty": "easy"})
    # THEN one comes back, of that difficulty
    assert response.status_code == 200
    body = response.json()
    assert body["difficulty"] == "easy"
    assert api.get(f"/{body['text_id']}").json() == body


def test_an_unknown_difficulty_is_a_422(api: httpx.Client) -> None:
    response = api.get("/random", params={"difficulty": "impossible"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.difficulty"
