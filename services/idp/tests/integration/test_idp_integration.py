"""The idp through a running stack: set STRATUS_URL (the HTTP API's URL, e.g. of `stratus dev`) to run.

Registration must be open (the default). The local cloud's demo user is checked too, unless STRATUS_LOCAL=0.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

STRATUS_URL = os.environ.get("STRATUS_URL", "").rstrip("/")

pytestmark = pytest.mark.skipif(not STRATUS_URL, reason="set STRATUS_URL to the HTTP API's URL to run")


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=STRATUS_URL, timeout=30) as client:
        yield client


@pytest.fixture
def user(api: httpx.Client) -> tuple[str, str]:
    username, password = f"it-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    response = api.post("/auth/register", json={"username": username, "password": password})
    if response.status_code == 403:
        pytest.skip("registration is closed on this stack")
    assert response.status_code == 201, response.text
    return username, password


def _login(api: httpx.Client, username: str, password: str) -> dict[str, Any]:
    response = api.post("/auth/token", data={"grant_type": "password", "username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_login_userinfo_refresh_and_reuse(api: httpx.Client, user: tuple[str, str]) -> None:
    tokens = _login(api, *user)
    assert tokens["token_type"] == "Bearer"
    info = api.get("/auth/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.json()["preferred_username"] == user[0]
    rotated = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    # reuse of the first refresh token revokes the family: the new access token dies at once
    assert api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 400
    after = api.get("/auth/userinfo", headers={"authorization": f"Bearer {rotated.json()['access_token']}"})
    assert after.status_code == 401
    assert "invalid_token" in after.headers["www-authenticate"]


def test_a_wrong_password_is_invalid_grant(api: httpx.Client, user: tuple[str, str]) -> None:
    response = api.post("/auth/token", data={"grant_type": "password", "username": user[0], "password": "nope"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_userinfo_without_a_token_is_a_401_with_a_challenge(api: httpx.Client) -> None:
    response = api.get("/auth/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_bad_input_is_a_4xx_naming_the_field(api: httpx.Client) -> None:
    response = api.post("/auth/token", data={"grant_type": "password", "password": "x"})
    assert response.status_code == 400
    assert "username" in response.json()["error_description"]
    wrong_type = api.post("/auth/token", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415


def test_the_jwks(api: httpx.Client) -> None:
    assert api.get("/auth/.well-known/jwks.json").json() == {"keys": []}


@pytest.mark.skipif(os.environ.get("STRATUS_LOCAL", "1") != "1", reason="the demo user is in the local cloud only")
def test_the_local_clouds_demo_user(api: httpx.Client) -> None:
    tokens = _login(api, "demo", "stratus-demo-password")
    assert tokens["scope"] == "profile"
