"""The players' HTTP API against moto's in-process AWS: profiles, ownership, versions, pagination, probes, outages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.cursors import CursorCodec
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient

    from .conftest import Cloud

    Caller = Callable[..., TestClient]

PROFILE = {"display_name": "Alice", "country": "DE", "preferred_difficulty": "hard"}


@pytest.fixture
def alice(caller: Caller) -> TestClient:
    return caller("alice")


@pytest.fixture
def bob(caller: Caller) -> TestClient:
    return caller("bob")


def _create(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/", json={**PROFILE, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# --- creating and reading ---------------------------------------------------------------------------------------


def test_a_user_creates_their_profile(alice: TestClient) -> None:
    # WHEN alice creates her profile
    response = alice.post("/", json=PROFILE)
    # THEN it is stored under her account's sub, at version 1, with a Location and an ETag
    assert response.status_code == 201
    player = response.json()
    assert player["player_id"] == "alice"
    assert {k: player[k] for k in PROFILE} == PROFILE
    assert player["version"] == 1
    assert player["created_at"] == player["updated_at"]
    assert player["created_at"].endswith("Z")
    assert response.headers["location"] == "/alice"
    assert response.headers["etag"] == '"1"'
    # AND reading it gives the same profile and ETag
    read = alice.get("/alice")
    assert read.status_code == 200
    assert read.json() == player
    assert read.headers["etag"] == '"1"'


def test_country_and_difficulty_are_optional(alice: TestClient) -> None:
    player = alice.post("/", json={"display_name": "Alice"}).json()
    assert (player["country"], player["preferred_difficulty"]) == (None, "medium")


def test_a_second_profile_for_the_same_account_is_a_conflict(alice: TestClient) -> None:
    # GIVEN alice's profile
    first = _create(alice)
    # WHEN she tries to create another
    response = alice.post("/", json={"display_name": "Other"})
    # THEN it is refused, and the first one is unchanged
    assert response.status_code == 409
    assert _error(response)["code"] == "player_exists"
    assert alice.get("/alice").json() == first


def test_a_machine_client_cannot_create_a_profile_but_can_read(alice: TestClient, caller: Caller) -> None:
    _create(alice)
    machine = caller("reporting-job", kind="client")
    response = machine.post("/", json=PROFILE)
    assert response.status_code == 403
    assert _error(response)["code"] == "user_required"
    assert machine.get("/alice").status_code == 200
    assert machine.get("/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/", PROFILE),
        ("GET", "/", None),
        ("GET", "/alice", None),
        ("PUT", "/alice", {**PROFILE, "version": 1}),
        ("DELETE", "/alice?version=1", None),
        ("GET", "/alice/stats", None),
    ],
)
def test_a_request_without_a_caller_is_401(caller: Caller, method: str, path: str, body: Any) -> None:
    # GIVEN a request that came through no authorizer
    anonymous = caller(None)
    # WHEN it calls any endpoint of the API
    response = anonymous.request(method, path, json=body)
    # THEN it is refused, in the error shape
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_request_without_a_caller_is_refused_before_anything_else(
    caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a service that could not even find its table
    monkeypatch.delenv("PLAYERS_TABLE_NAME")
    get_settings.cache_clear()
    # WHEN a request without a caller arrives THEN it is a 401, not the 500 of the missing configuration
    assert caller(None).get("/alice").status_code == 401
    assert caller(None).post("/", json={"display_name": 5}).status_code == 401


def test_an_unknown_player_is_404(alice: TestClient) -> None:
    response = alice.get("/nobody")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_an_account_whose_id_cannot_be_a_player_id_is_refused(caller: Caller) -> None:
    # GIVEN accounts whose sub could not be a path segment, or is one of the app's own paths
    for subject in ("has space", "health"):
        # WHEN they create a profile THEN it is refused (it could never be read back)
        response = caller(subject).post("/", json=PROFILE)
        assert response.status_code == 403
        assert _error(response)["code"] == "unsupported_subject"


# --- listing ----------------------------------------------------------------------------------------------------


def test_listing_pages_through_every_player(caller: Caller) -> None:
    # GIVEN seven players
    subjects = {f"player-{n}" for n in range(7)}
    for subject in subjects:
        _create(caller(subject), display_name=subject)
    reader = caller("player-0")
    # WHEN the list is read two at a time, following next_cursor
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = reader.get("/", params=params)
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["player_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # THEN every player comes exactly once, over several pages
    assert sorted(seen) == sorted(subjects)
    assert pages >= 4


def test_the_default_page_holds_twenty(caller: Caller) -> None:
    for n in range(21):
        _create(caller(f"p{n}"))
    body = caller("p0").get("/").json()
    assert len(body["items"]) == 20
    assert isinstance(body["next_cursor"], str)


def test_an_empty_table_lists_nothing(alice: TestClient) -> None:
    assert alice.get("/").json() == {"items": [], "next_cursor": None}


def _a_cursor(caller: Caller) -> str:
    for n in range(3):
        _create(caller(f"p{n}"))
    cursor: str = caller("p0").get("/", params={"limit": 1}).json()["next_cursor"]
    return cursor


def test_a_tampered_cursor_is_a_422_naming_the_cursor(caller: Caller, cloud: Cloud) -> None:
    # GIVEN a cursor the list returned
    cursor = _a_cursor(caller)
    body, _, signature = cursor.partition(".")
    forged_key = CursorCodec("players", lambda: "not-the-key").encode({"player_id": {"S": "p1"}})
    other_list = CursorCodec("users", lambda: "k" * 64).encode({"player_id": {"S": "p1"}})
    tampered = [
        body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature,  # the key changed
        body + "." + signature[::-1],  # the signature changed
        body,  # no signature
        forged_key,  # signed with another key
        other_list,  # made for another list
        "not a cursor",
        "\u202e\u0000",
        "x" * 5000,
    ]
    for bad in tampered:
        # WHEN it is handed back changed
        response = caller("p0").get("/", params={"cursor": bad})
        # THEN the request is refused, naming the field
        assert response.status_code == 422, bad
        error = _error(response)
        assert error["code"] == "validation_error"
        assert [detail["field"] for detail in error["details"]] == ["query.cursor"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1e3", str(10**30), ""])
def test_a_limit_out_of_range_is_a_422_naming_it(alice: TestClient, limit: str) -> None:
    response = alice.get("/", params={"limit": limit})
    assert response.status_code == 422
    assert [detail["field"] for detail in _error(response)["details"]] == ["query.limit"]


# --- updating ---------------------------------------------------------------------------------------------------


def test_the_owner_updates_with_the_current_version(alice: TestClient) -> None:
    # GIVEN alice's profile at version 1
    created = _create(alice)
    # WHEN she replaces it, sending version 1 (and no country)
    response = alice.put("/alice", json={"display_name": "Alice B.", "preferred_difficulty": "easy", "version": 1})
    # THEN it is at version 2 with the new fields, the country gone
    assert response.status_code == 200
    player = response.json()
    assert (player["display_name"], player["preferred_difficulty"], player["country"]) == ("Alice B.", "easy", None)
    assert player["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert player["created_at"] == created["created_at"]
    assert player["updated_at"] >= created["updated_at"]
    assert alice.get("/alice").json() == player
    # AND a country can be set again
    again = alice.put("/alice", json={"display_name": "Alice B.", "country": "FR", "version": 2}).json()
    assert (again["country"], again["version"]) == ("FR", 3)


def test_a_stale_version_is_a_conflict_not_an_overwrite(alice: TestClient) -> None:
    # GIVEN two tabs that both read version 1, and one of them saved
    _create(alice)
    first = alice.put("/alice", json={"display_name": "From tab one", "version": 1})
    assert first.status_code == 200
    # WHEN the other saves, still sending version 1
    second = alice.put("/alice", json={"display_name": "From tab two", "version": 1})
    # THEN it is refused with the current version, and the first save stands
    assert second.status_code == 409
    error = _error(second)
    assert error["code"] == "version_conflict"
    assert error["details"] == {"current_version": 2, "sent_version": 1}
    assert alice.get("/alice").json()["display_name"] == "From tab one"


def test_a_version_from_the_future_is_a_conflict_too(alice: TestClient) -> None:
    _create(alice)
    response = alice.put("/alice", json={**PROFILE, "version": 7})
    assert response.status_code == 409
    assert _error(response)["details"]["current_version"] == 1


def test_another_players_profile_cannot_be_changed(alice: TestClient, bob: TestClient) -> None:
    # GIVEN alice's profile
    created = _create(alice)
    # WHEN bob replaces or deletes it, with the right version
    put = bob.put("/alice", json={**PROFILE, "display_name": "Hacked", "version": 1})
    delete = bob.delete("/alice", params={"version": 1})
    # THEN both are forbidden, and the profile is unchanged
    assert (put.status_code, delete.status_code) == (403, 403)
    assert _error(put)["code"] == _error(delete)["code"] == "not_owner"
    assert alice.get("/alice").json() == created


def test_changing_a_profile_that_does_not_exist_is_404(alice: TestClient, bob: TestClient) -> None:
    # someone else's that does not exist, and one's own before creating it
    for client, path in ((bob, "/carol"), (alice, "/alice")):
        assert client.put(path, json={**PROFILE, "version": 1}).status_code == 404
        assert client.delete(path, params={"version": 1}).status_code == 404


def test_an_update_needs_the_version(alice: TestClient) -> None:
    _create(alice)
    response = alice.put("/alice", json=PROFILE)
    assert response.status_code == 422
    assert [detail["field"] for detail in _error(response)["details"]] == ["body.version"]


# --- deleting ---------------------------------------------------------------------------------------------------


def test_the_owner_deletes_their_profile(alice: TestClient) -> None:
    # GIVEN alice's profile, updated once (version 2)
    _create(alice)
    alice.put("/alice", json={**PROFILE, "version": 1})
    # WHEN she deletes it with a stale version THEN it is refused
    stale = alice.delete("/alice", params={"version": 1})
    assert stale.status_code == 409
    assert _error(stale)["details"]["current_version"] == 2
    # WHEN she deletes it with the current one THEN it is gone
    deleted = alice.delete("/alice", params={"version": 2})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert alice.get("/alice").status_code == 404
    assert alice.delete("/alice", params={"version": 2}).status_code == 404
    # AND she may create a new one, starting again at version 1
    assert _create(alice)["version"] == 1


@pytest.mark.parametrize("query", ["", "?version=0", "?version=abc", f"?version={10**20}"])
def test_a_delete_needs_a_valid_version(alice: TestClient, query: str) -> None:
    _create(alice)
    response = alice.delete(f"/alice{query}")
    assert response.status_code == 422
    assert [detail["field"] for detail in _error(response)["details"]] == ["query.version"]


# --- probes, outages, the schema --------------------------------------------------------------------------------


def test_probes(alice: TestClient) -> None:
    health = alice.get("/health").json()
    assert (health["status"], health["service"]) == ("healthy", "players")
    assert alice.get("/liveness").json() == {"status": "alive"}
    assert alice.get("/readiness").json() == {"status": "ready"}


def test_an_unknown_path_is_a_json_404(alice: TestClient) -> None:
    response = alice.get("/alice/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_a_dynamodb_outage_is_a_503_to_retry(alice: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a players table that does not answer (it does not exist)
    monkeypatch.setenv("PLAYERS_TABLE_NAME", "no-such-table")
    get_settings.cache_clear()
    # WHEN profiles are written or read
    responses = [
        alice.post("/", json=PROFILE),
        alice.get("/alice"),
        alice.get("/"),
        alice.put("/alice", json={**PROFILE, "version": 1}),
        alice.get("/alice/stats"),
    ]
    # THEN each is a 503 the client may retry, and the service is not ready
    for response in responses:
        assert response.status_code == 503
        assert _error(response)["code"] == "service_unavailable"
        assert "try again later" in _error(response)["message"]
        assert response.headers["retry-after"] == "1"
    readiness = alice.get("/readiness")
    assert readiness.status_code == 503
    assert "players_table" in readiness.json()["checks"]


def test_an_unreadable_cursor_key_is_a_503(caller: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN more players than a page, and a cursor-signing secret that cannot be read
    for n in range(2):
        _create(caller(f"p{n}"))
    monkeypatch.setenv("CURSOR_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone")
    # WHEN a page with a next cursor is listed THEN it is a 503, not a 500
    response = caller("p0").get("/", params={"limit": 1})
    assert response.status_code == 503


def test_the_schema_documents_the_error_shape(alice: TestClient) -> None:
    schema = alice.get("/openapi.json").json()
    operation = schema["paths"]["/{player_id}"]["put"]
    assert {"401", "403", "404", "409", "422", "503"} <= set(operation["responses"])
    assert operation["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
