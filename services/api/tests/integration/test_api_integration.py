"""The users API through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed stack
(`stratus test --against URL --api-key KEY`), unchanged. Behind `auth = "api_key"`."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from stratus.testing import StratusCloud


@pytest.fixture
def api(stratus_cloud: StratusCloud) -> Iterator[httpx.Client]:
    with stratus_cloud.client("/users", api_key=stratus_cloud.api_key()) as client:
        yield client


@pytest.fixture
def email() -> str:
    """An address no other run has used."""
    return f"it-{uuid.uuid4().hex[:12]}@example.com"


def _create(api: httpx.Client, email: str, **fields: Any) -> dict[str, Any]:
    response = api.post("", json={"name": "Integration Test", "email": email, **fields})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


@pytest.mark.smoke
def test_a_request_without_an_api_key_is_refused(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/users")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.smoke
def test_health(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["service"]) == ("healthy", "api")


def test_create_read_update_delete(api: httpx.Client, email: str) -> None:
    # GIVEN a new user
    user = _create(api, email)
    user_id = user["user_id"]
    # THEN it reads back
    read = api.get(f"/{user_id}")
    assert read.status_code == 200
    assert read.json() == user
    # WHEN it is renamed with the version read
    updated = api.put(f"/{user_id}", json={"name": "Renamed", "email": email, "version": 1})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    # AND a stale version is refused
    stale = api.put(f"/{user_id}", json={"name": "Stale", "email": email, "version": 1})
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "version_conflict")
    # WHEN it is deleted
    assert api.delete(f"/{user_id}", params={"version": 2}).status_code == 204
    # THEN it is gone, and its address is free again
    assert api.get(f"/{user_id}").status_code == 404
    again = _create(api, email)
    assert api.delete(f"/{again['user_id']}", params={"version": 1}).status_code == 204


def test_an_email_is_unique_whatever_its_case(api: httpx.Client, email: str) -> None:
    user = _create(api, email)
    try:
        response = api.post("", json={"name": "Twin", "email": email.upper()})
        assert (response.status_code, response.json()["error"]["code"]) == (409, "email_taken")
    finally:
        api.delete(f"/{user['user_id']}", params={"version": 1})


def test_lookup_by_email_finds_the_user_eventually(api: httpx.Client, email: str) -> None:
    user = _create(api, email)
    try:
        # the by-email index is eventually consistent, in AWS and locally: poll briefly
        deadline = time.monotonic() + 10
        while not (items := api.get("", params={"email": email}).json()["items"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [found["user_id"] for found in items] == [user["user_id"]]
    finally:
        api.delete(f"/{user['user_id']}", params={"version": 1})


def test_the_list_pages_with_a_cursor(api: httpx.Client) -> None:
    first = api.get("", params={"limit": 1})
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"items", "next_cursor"}
    if page["next_cursor"]:
        assert api.get("", params={"limit": 1, "cursor": page["next_cursor"]}).status_code == 200
    tampered = api.get("", params={"cursor": "bm90LWEtY3Vyc29y.c2lnbmF0dXJl"})
    assert tampered.status_code == 422
    assert tampered.json()["error"]["details"][0]["field"] == "query.cursor"


def test_a_bad_body_is_a_422_naming_the_field(api: httpx.Client) -> None:
    response = api.post("", json={"name": "No e-mail"})
    assert response.status_code == 422
    assert "body.email" in [detail["field"] for detail in response.json()["error"]["details"]]
