"""The players service through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed
stack (`stratus test --against URL`), unchanged. Behind `auth = "token"`: each test signs a new user up."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from stratus.testing import StratusCloud


def test_without_a_token_the_gateway_refuses(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/players")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.smoke
def test_health(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client("/players", token=stratus_cloud.token()) as api:
        response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["service"] == "players"


def test_a_profile_round_trip(stratus_cloud: StratusCloud) -> None:
    user, other = stratus_cloud.user(), stratus_cloud.user()
    with stratus_cloud.client("/players", token=user.access_token) as api:
        # GIVEN the user's new profile, whose id is the token's subject: one per account
        created = api.post("", json={"display_name": "Integration", "preferred_difficulty": "easy"})
        assert created.status_code == 201, created.text
        player = created.json()
        path = f"/{player['player_id']}"
        assert created.headers["location"].endswith(f"/players{path}")
        assert api.post("", json={"display_name": "Twice"}).status_code == 409
        # WHEN it is read THEN it is there, with its version as the ETag
        read = api.get(path)
        assert (read.status_code, read.headers["etag"]) == (200, '"1"')
        # WHEN it is updated with the version read THEN it moves on; a stale version is refused
        updated = api.put(path, json={"display_name": "Integration 2", "country": "DE", "version": 1})
        assert (updated.status_code, updated.json()["version"]) == (200, 2)
        stale = api.put(path, json={"display_name": "Lost update", "version": 1})
        assert (stale.status_code, stale.json()["error"]["code"]) == (409, "version_conflict")
        assert api.get(path).json()["display_name"] == "Integration 2"
        # AND a new player has played no games
        stats = api.get(f"{path}/stats")
        assert stats.status_code == 200
        assert (stats.json()["player_id"], stats.json()["games_played"]) == (player["player_id"], 0)
        # AND another account may read it, but not change it
        with stratus_cloud.client("/players", token=other.access_token) as stranger:
            assert stranger.get(path).status_code == 200
            assert stranger.delete(path, params={"version": 2}).status_code == 403
        # THEN it is deleted with its current version
        assert api.delete(path, params={"version": 2}).status_code == 204
        assert api.get(path).status_code == 404


def test_the_list_is_paged_by_an_opaque_cursor(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client("/players", token=stratus_cloud.token()) as api:
        page = api.get("", params={"limit": 1})
        assert page.status_code == 200, page.text
        assert set(page.json()) >= {"items", "next_cursor"}
        tampered = api.get("", params={"cursor": "bm90LWEtY3Vyc29y.c2lnbmF0dXJl"})
        assert tampered.status_code == 422
