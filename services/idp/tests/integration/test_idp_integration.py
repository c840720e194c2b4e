"""The idp through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed stack
(`stratus test --against URL`; registration must be open there, or give `--invite`)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from stratus.testing import StratusCloud


def test_sign_in_userinfo_refresh_and_reuse(stratus_cloud: StratusCloud) -> None:
    user = stratus_cloud.user()
    http = stratus_cloud.http
    info = http.get("/auth/userinfo", headers=user.headers)
    assert info.status_code == 200
    assert info.json()["preferred_username"] == user.username
    rotated = http.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert rotated.status_code == 200
    # reuse of the first refresh token revokes the family: the new access token dies at once
    assert http.post("/auth/refresh", json={"refresh_token": user.refresh_token}).status_code == 400
    after = http.get("/auth/userinfo", headers={"authorization": f"Bearer {rotated.json()['access_token']}"})
    assert after.status_code == 401
    assert "invalid_token" in after.headers["www-authenticate"]


@pytest.mark.smoke
def test_a_wrong_password_is_invalid_grant(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client(source=stratus_cloud.source_address()) as http:
        response = http.post("/auth/token", data={"grant_type": "password", "username": "nobody", "password": "nope"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_too_many_sign_ins_for_one_username_are_a_429_with_retry_after(stratus_cloud: StratusCloud) -> None:
    # IDP_SIGNIN_RATE_LIMIT_USERNAME: per username, whatever the source address
    username, statuses = f"target-{secrets.token_hex(4)}", []
    for _ in range(30):
        with stratus_cloud.client(source=stratus_cloud.source_address()) as http:
            answer = http.post("/auth/token", data={"grant_type": "password", "username": username, "password": "x"})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {400}
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["error"] == "too_many_requests"


@pytest.mark.smoke
def test_userinfo_without_a_token_is_a_401_with_a_challenge(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/auth/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_bad_input_is_a_4xx_naming_the_field(stratus_cloud: StratusCloud) -> None:
    http = stratus_cloud.http
    response = http.post("/auth/token", data={"grant_type": "password", "password": "x"})
    assert response.status_code == 400
    assert "username" in response.json()["error_description"]
    wrong_type = http.post("/auth/token", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415


def test_the_jwks(stratus_cloud: StratusCloud) -> None:
    assert stratus_cloud.http.get("/auth/.well-known/jwks.json").json() == {"keys": []}


def test_the_local_clouds_demo_user(stratus_cloud: StratusCloud) -> None:
    if not stratus_cloud.local:
        pytest.skip("the demo user is in the local cloud only")
    response = stratus_cloud.http.post(
        "/auth/token", data={"grant_type": "password", "username": "demo", "password": "stratus-demo-password"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "profile"
