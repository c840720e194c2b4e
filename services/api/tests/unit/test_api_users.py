"""The users API through a TestClient, on moto: CRUD, e-mail uniqueness, versions, lists and lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cloud
    from fastapi.testclient import TestClient


def _create(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Ann", "email": "ann@example.com", **fields}
    response = client.post("/", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert set(error) <= {"code", "message", "details"}
    return error


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    error = _error(response)
    assert error["code"] == "validation_error"
    return [detail["field"] for detail in error["details"]]


# -- create and read ---------------------------------------------------------------------------------------------


def test_create_returns_201_with_location_etag_and_the_user(client: TestClient, cloud: Cloud) -> None:
    # WHEN a user is created without an id
    response = client.post("/", json={"name": "  Ann Lee ", "email": " Ann.Lee@Example.COM "})
    # THEN it gets a uuid, version 1, the stripped name and the normalised address
    assert response.status_code == 201
    user = response.json()
    assert set(user) == {"user_id", "name", "email", "version", "created_at", "updated_at"}
    assert (user["name"], user["email"], user["version"]) == ("Ann Lee", "ann.lee@example.com", 1)
    assert len(user["user_id"]) == 36
    assert user["created_at"] == user["updated_at"]
    assert response.headers["location"] == f"/{user['user_id']}"
    assert response.headers["etag"] == '"1"'
    # AND the address is claimed for it
    assert cloud.email_owner("ann.lee@example.com") == user["user_id"]


def test_the_seeds_shape_with_a_given_user_id(client: TestClient) -> None:
    user = _create(client, user_id="user-123", name="John Doe", email="john@example.com")
    assert user["user_id"] == "user-123"
    response = client.get("/user-123")
    assert response.status_code == 200
    assert response.json() == user
    assert response.headers["etag"] == '"1"'


def test_reading_an_absent_user_is_a_404(client: TestClient) -> None:
    response = client.get("/user-404")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@pytest.mark.parametrize("user_id", ["-leading-dash", "x" * 65, "a.b", "has%20space", "nul%00", "%ED%A0%80"])
def test_an_id_no_user_can_have_is_a_404_without_a_lookup(client: TestClient, user_id: str) -> None:
    response = client.get(f"/{user_id}")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_a_taken_user_id_is_a_409_user_exists(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1", email="one@example.com")
    response = client.post("/", json={"user_id": "user-1", "name": "Other", "email": "other@example.com"})
    assert response.status_code == 409
    assert _error(response)["code"] == "user_exists"
    # the losing create claimed nothing: the transaction wrote neither item
    assert cloud.email_owner("other@example.com") is None


def test_a_taken_email_is_a_409_email_taken_whatever_its_case(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1", email="ann@example.com")
    response = client.post("/", json={"user_id": "user-2", "name": "Ann 2", "email": "ANN@EXAMPLE.com"})
    assert response.status_code == 409
    assert _error(response)["code"] == "email_taken"
    assert cloud.user_item("user-2") is None  # nor was the user stored


# -- update ------------------------------------------------------------------------------------------------------


def test_update_bumps_the_version_and_keeps_created_at(client: TestClient) -> None:
    user = _create(client, user_id="user-1")
    response = client.put("/user-1", json={"name": "Ann B", "email": "ann@example.com", "version": 1})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["version"], updated["created_at"]) == ("Ann B", 2, user["created_at"])
    assert updated["updated_at"] >= user["updated_at"]
    assert response.headers["etag"] == '"2"'
    assert client.get("/user-1").json() == updated


def test_a_stale_version_is_a_409_version_conflict(client: TestClient) -> None:
    _create(client, user_id="user-1")
    assert client.put("/user-1", json={"name": "B", "email": "ann@example.com", "version": 1}).status_code == 200
    # WHEN a second writer sends the version it read before the first change
    response = client.put("/user-1", json={"name": "C", "email": "ann@example.com", "version": 1})
    # THEN it is refused, and told the current version
    assert response.status_code == 409
    error = _error(response)
    assert (error["code"], error["details"]) == ("version_conflict", {"current_version": 2})
    assert client.get("/user-1").json()["name"] == "B"


def test_updating_an_absent_user_is_a_404(client: TestClient) -> None:
    response = client.put("/nobody", json={"name": "A", "email": "a@example.com", "version": 1})
    assert response.status_code == 404


def test_changing_the_email_frees_the_old_one(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1", email="old@example.com")
    # WHEN the user moves to a new address
    response = client.put("/user-1", json={"name": "Ann", "email": "new@example.com", "version": 1})
    assert response.status_code == 200
    # THEN the new address is claimed, the old one released...
    assert cloud.email_owner("new@example.com") == "user-1"
    assert cloud.email_owner("old@example.com") is None
    # ...so another user can take it
    assert _create(client, user_id="user-2", email="old@example.com")["email"] == "old@example.com"


def test_changing_to_a_taken_email_is_a_409_and_changes_nothing(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1", email="one@example.com")
    _create(client, user_id="user-2", email="two@example.com")
    response = client.put("/user-1", json={"name": "New name", "email": "TWO@example.com", "version": 1})
    assert response.status_code == 409
    assert _error(response)["code"] == "email_taken"
    user = client.get("/user-1").json()
    assert (user["name"], user["email"], user["version"]) == ("Ann", "one@example.com", 1)
    assert cloud.email_owner("one@example.com") == "user-1"
    assert cloud.email_owner("two@example.com") == "user-2"


def test_an_update_needs_the_version(client: TestClient) -> None:
    _create(client, user_id="user-1")
    assert _fields(client.put("/user-1", json={"name": "A", "email": "a@example.com"})) == ["body.version"]
    assert _fields(client.put("/user-1", json={"name": "A", "email": "a@example.com", "version": "1"})) == [
        "body.version"
    ]


# -- delete ------------------------------------------------------------------------------------------------------


def test_delete_removes_the_user_and_frees_its_email(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1", email="ann@example.com")
    response = client.delete("/user-1", params={"version": 1})
    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/user-1").status_code == 404
    assert cloud.email_items() == []
    assert _create(client, user_id="user-2", email="ann@example.com")["user_id"] == "user-2"


def test_deleting_with_a_stale_version_is_a_409(client: TestClient, cloud: Cloud) -> None:
    _create(client, user_id="user-1")
    client.put("/user-1", json={"name": "B", "email": "ann@example.com", "version": 1})
    response = client.delete("/user-1", params={"version": 1})
    assert response.status_code == 409
    assert _error(response)["code"] == "version_conflict"
    assert cloud.user_item("user-1") is not None
    assert cloud.email_owner("ann@example.com") == "user-1"


def test_deleting_an_absent_user_is_a_404(client: TestClient) -> None:
    assert client.delete("/user-1", params={"version": 1}).status_code == 404


def test_a_delete_needs_the_version(client: TestClient) -> None:
    assert _fields(client.delete("/user-1")) == ["query.version"]
    assert _fields(client.delete("/user-1", params={"version": "0"})) == ["query.version"]


# -- list and look up --------------------------------------------------------------------------------------------


def test_the_pages_together_hold_every_user_once(client: TestClient) -> None:
    # GIVEN 7 users
    created = {_create(client, user_id=f"user-{n}", email=f"u{n}@example.com")["user_id"] for n in range(7)}
    # WHEN they are listed 3 at a time, following next_cursor
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = client.get("/", params=params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [user["user_id"] for user in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    # THEN each user appears exactly once, over at least three pages
    assert sorted(seen) == sorted(created)
    assert pages >= 3


def test_the_default_page_holds_twenty(client: TestClient) -> None:
    for n in range(21):
        _create(client, user_id=f"user-{n}", email=f"u{n}@example.com")
    page = client.get("/").json()
    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


def test_a_tampered_cursor_is_a_422_naming_it(client: TestClient) -> None:
    for n in range(3):
        _create(client, user_id=f"user-{n}", email=f"u{n}@example.com")
    cursor = client.get("/", params={"limit": 1}).json()["next_cursor"]
    body, signature = cursor.split(".")
    forged = ("A" if body[0] != "A" else "B") + body[1:] + "." + signature
    for bad in (forged, cursor[:-2], f"{signature}.{body}", "garbage", "a.b", "x" * 5000):
        assert _fields(client.get("/", params={"limit": 1, "cursor": bad})) == ["query.cursor"], bad


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1e3", "99999999999999999999999999", "ten"])
def test_a_limit_outside_1_to_100_is_a_422(client: TestClient, limit: str) -> None:
    assert _fields(client.get("/", params={"limit": limit})) == ["query.limit"]


def test_lookup_by_email_uses_the_normalised_address(client: TestClient) -> None:
    user = _create(client, user_id="user-1", email="ann@example.com")
    _create(client, user_id="user-2", email="bob@example.com")
    response = client.get("/", params={"email": " ANN@Example.com "})
    assert response.status_code == 200
    assert response.json() == {"items": [user], "next_cursor": None}


def test_lookup_of_an_unknown_email_is_an_empty_list(client: TestClient) -> None:
    _create(client)
    assert client.get("/", params={"email": "nobody@example.com"}).json() == {"items": [], "next_cursor": None}


def test_lookup_follows_an_email_change(client: TestClient) -> None:
    _create(client, user_id="user-1", email="old@example.com")
    client.put("/user-1", json={"name": "Ann", "email": "new@example.com", "version": 1})
    assert client.get("/", params={"email": "old@example.com"}).json()["items"] == []
    assert [u["user_id"] for u in client.get("/", params={"email": "new@example.com"}).json()["items"]] == ["user-1"]


def test_lookup_of_an_invalid_email_or_with_a_cursor_is_a_422(client: TestClient) -> None:
    assert _fields(client.get("/", params={"email": "not-an-address"})) == ["query.email"]
    assert _fields(client.get("/", params={"email": "a@example.com", "cursor": "x.y"})) == ["query.cursor"]


# -- validation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com"}, "body.name"),
        ({"name": "", "email": "a@example.com"}, "body.name"),
        ({"name": "   ", "email": "a@example.com"}, "body.name"),
        ({"name": "x" * 10_000, "email": "a@example.com"}, "body.name"),
        ({"name": "x" * 101, "email": "a@example.com"}, "body.name"),
        ({"name": "a\x00b", "email": "a@example.com"}, "body.name"),
        ({"name": "line\nbreak", "email": "a@example.com"}, "body.name"),
        ({"name": "evil\u202etxt.exe", "email": "a@example.com"}, "body.name"),
        ({"name": "para\u2029graph", "email": "a@example.com"}, "body.name"),
        ({"name": 42, "email": "a@example.com"}, "body.name"),
        ({"name": "Ann"}, "body.email"),
        ({"name": "Ann", "email": "no-at-sign"}, "body.email"),
        ({"name": "Ann", "email": "a@b"}, "body.email"),
        ({"name": "Ann", "email": "a@@example.com"}, "body.email"),
        ({"name": "Ann", "email": "a..b@example.com"}, "body.email"),
        ({"name": "Ann", "email": "a@-example.com"}, "body.email"),
        ({"name": "Ann", "email": "a@example.c0m"}, "body.email"),
        ({"name": "Ann", "email": "ann@exämple.com"}, "body.email"),
        ({"name": "Ann", "email": "a\x00@example.com"}, "body.email"),
        ({"name": "Ann", "email": "x" * 65 + "@example.com"}, "body.email"),
        ({"name": "Ann", "email": "a@" + "x" * 250 + ".com"}, "body.email"),
        ({"name": "Ann", "email": "a" * 10_000 + "@example.com"}, "body.email"),
        ({"name": "Ann", "email": "a@example.com", "user_id": "-x"}, "body.user_id"),
        ({"name": "Ann", "email": "a@example.com", "user_id": "x" * 65}, "body.user_id"),
        ({"name": "Ann", "email": "a@example.com", "user_id": "health"}, "body.user_id"),
        ({"name": "Ann", "email": "a@example.com", "admin": True}, "body.admin"),
    ],
)
def test_an_invalid_create_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    assert field in _fields(client.post("/", json=body))


def test_json_that_python_accepts_but_utf8_cannot_hold_is_refused(client: TestClient) -> None:
    # a lone surrogate (valid JSON escape, not a character) and NUL, as raw JSON
    for raw in (b'{"name": "\\ud800", "email": "a@example.com"}', b'{"name": "a\\u0000", "email": "a@example.com"}'):
        response = client.post("/", content=raw, headers={"content-type": "application/json"})
        assert _fields(response) == ["body.name"]


def test_unicode_names_are_kept_nfc_normalised(client: TestClient) -> None:
    # "é" as e + combining acute is stored as the one precomposed character; emoji and scripts are fine
    user = _create(client, name="Re\u0301my 👩‍💻 李", email="remy@example.com")
    assert user["name"] == "R\u00e9my 👩‍💻 李"


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    response = client.post("/", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"
