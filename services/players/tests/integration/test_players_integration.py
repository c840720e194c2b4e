"""The players service through a running stack: set STRATUS_URL (the HTTP API's URL) to run.

The API is behind ``auth = "token"``: set STRATUS_TOKEN to a signed-in user's access token (sent as a bearer token)
for the tests that need one. They create the user's profile, change it, and delete it at the end; a profile the
user had before is deleted first.
"""

from __future__ import annotations

import base64
import json
import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from stratus_common.testing import stack_client, stack_url

if TYPE_CHECKING:
    from collections.abc import Iterator

STRATUS_TOKEN = os.environ.get("STRATUS_TOKEN", "")

pytestmark = pytest.mark.skipif(not stack_url(), reason="set STRATUS_URL to the HTTP API's URL to run")
needs_token = pytest.mark.skipif(not STRATUS_TOKEN, reason="set STRATUS_TOKEN to a user's access token to run")


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    with stack_client("/players", credentials=False) as client:
        yield client


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with stack_client("/players") as client:
        yield client


def _subject(token: str) -> str:
    """The ``sub`` of a JWT (read, not verified: the gateway verifies it), i.e. the user's player id."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def _fresh_profile(api: httpx.Client) -> dict[str, Any]:
    """Create the user's profile, deleting the one they had first."""
    path = f"/{_subject(STRATUS_TOKEN)}"
    existing = api.get(path)
    if existing.status_code == 200:
        assert api.delete(path, params={"version": existing.json()["version"]}).status_code == 204
    response = api.post("", json={"display_name": "Integration"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"].endswith(path)
    return created


def test_without_a_token_the_gateway_refuses(anonymous: httpx.Client) -> None:
    response = anonymous.get("")
    assert response.status_code == 401


@needs_token
def test_a_profile_round_trip(api: httpx.Client) -> None:
    # GIVEN the user's new profile
    player = _fresh_profile(api)
    path = f"/{player['player_id']}"
    try:
        # WHEN it is read THEN it is there, with its version as the ETag
        read = api.get(path)
        assert (read.status_code, read.headers["etag"]) == (200, '"1"')
        # WHEN it is updated with the version read THEN it moves on; a stale version is refused
        updated = api.put(path, json={"display_name": "Integration 2", "country": "DE", "version": 1})
        assert (updated.status_code, updated.json()["version"]) == (200, 2)
        stale = api.put(path, json={"display_name": "Lost update", "version": 1})
        assert (stale.status_code, stale.json()["error"]["code"]) == (409, "version_conflict")
        # AND it has stats (zeros until the records service reports games)
        stats = api.get(f"{path}/stats")
        assert stats.status_code == 200
        assert stats.json()["player_id"] == player["player_id"]
    finally:
        # THEN it can be deleted with its current version
        current = api.get(path).json()["version"]
        assert api.delete(path, params={"version": current}).status_code == 204
    assert api.get(path).status_code == 404


@needs_token
def test_health(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["service"] == "players"
