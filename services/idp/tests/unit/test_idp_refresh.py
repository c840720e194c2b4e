"""POST /auth/refresh: rotation, and reuse detection that revokes the whole family."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from idp import main
from idp.sessions import RefreshError, hash_refresh_token
from stratus_common.tokens import verify_access_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient


@pytest.fixture
def tokens(alice: str, login: Callable[..., Any]) -> dict[str, Any]:
    response = login()
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _refresh(client: TestClient, refresh_token: str) -> Any:
    return client.post("/refresh", json={"refresh_token": refresh_token})


def test_rotation_gives_new_tokens_and_retires_the_old_refresh_token(
    client: TestClient, tokens: dict[str, Any], cloud: Cloud
) -> None:
    # WHEN the refresh token is used
    response = _refresh(client, tokens["refresh_token"])
    # THEN new tokens come back, for the same session
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert response.headers["cache-control"] == "no-store"
    old_sid = verify_access_token(tokens["access_token"])["sid"]
    assert verify_access_token(body["access_token"])["sid"] == old_sid
    # AND the old refresh token is marked rotated, stored only as a hash
    old = cloud.item("refresh_tokens", "token_hash", hash_refresh_token(tokens["refresh_token"]))
    assert old is not None and old["status"]["S"] == "rotated"
    assert tokens["refresh_token"] not in json.dumps(cloud.items("refresh_tokens"))


def test_reuse_of_a_rotated_token_revokes_the_whole_family(
    client: TestClient, tokens: dict[str, Any], authorize: Callable[[str], bool]
) -> None:
    # GIVEN a session refreshed once: the first refresh token is now retired
    first = tokens
    second = _refresh(client, first["refresh_token"]).json()
    assert authorize(second["access_token"])
    # WHEN the retired token is presented again (a thief, or the client after a thief)
    reuse = _refresh(client, first["refresh_token"])
    # THEN it is refused...
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # ...and the whole family is dead: the newest refresh token, and every access token, at once
    assert _refresh(client, second["refresh_token"]).status_code == 400
    assert not authorize(second["access_token"])
    assert not authorize(first["access_token"])
    assert client.get("/userinfo", headers={"authorization": f"Bearer {second['access_token']}"}).status_code == 401


def test_reuse_is_recorded_as_the_revocation_reason(client: TestClient, tokens: dict[str, Any], cloud: Cloud) -> None:
    _refresh(client, tokens["refresh_token"])
    _refresh(client, tokens["refresh_token"])
    sid = verify_access_token(tokens["access_token"])["sid"]
    session = cloud.item("sessions", "session_id", sid)
    assert session is not None
    assert (session["status"]["S"], session["revoked_reason"]["S"]) == ("revoked", "refresh_token_reuse")


def test_a_chain_of_rotations_keeps_working(client: TestClient, tokens: dict[str, Any]) -> None:
    current = tokens["refresh_token"]
    for _ in range(4):
        response = _refresh(client, current)
        assert response.status_code == 200
        current = response.json()["refresh_token"]


def test_the_refresh_token_grant_of_the_token_endpoint(client: TestClient, tokens: dict[str, Any]) -> None:
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert _refresh(client, tokens["refresh_token"]).status_code == 400  # rotated by the call above


def test_refresh_can_narrow_but_not_widen_the_scope(client: TestClient, tokens: dict[str, Any]) -> None:
    widened = client.post("/refresh", json={"refresh_token": tokens["refresh_token"], "scope": "profile admin"})
    assert widened.json()["error"] == "invalid_scope"


def test_after_logout_the_refresh_token_is_refused(client: TestClient, tokens: dict[str, Any], cloud: Cloud) -> None:
    sid = verify_access_token(tokens["access_token"])["sid"]
    assert main.get_sessions().revoke(sid, reason="logout")
    assert _refresh(client, tokens["refresh_token"]).status_code == 400


def test_an_expired_session_cannot_be_refreshed(
    client: TestClient, tokens: dict[str, Any], cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = verify_access_token(tokens["access_token"])["sid"]
    cloud.dynamodb.update_item(
        TableName=cloud.tables["sessions"],
        Key={"session_id": {"S": sid}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )
    assert _refresh(client, tokens["refresh_token"]).status_code == 400


def test_a_concurrent_rotation_counts_as_reuse(tokens: dict[str, Any], cloud: Cloud) -> None:
    # GIVEN two refreshes of the same token that both read it as active: simulate by rotating between read and write
    store = main.get_refresh_tokens()
    real = store.dynamodb

    class Racing:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def transact_write_items(self, **kwargs: Any) -> Any:
            main.get_refresh_tokens().rotate(tokens["refresh_token"])  # the other request commits first
            return real.transact_write_items(**kwargs)

    store.dynamodb = Racing()
    # WHEN this one commits
    with pytest.raises(RefreshError) as raised:
        store.rotate(tokens["refresh_token"])
    # THEN it lost, and the family is revoked
    assert raised.value.reason == "reused"
    sid = verify_access_token(tokens["access_token"])["sid"]
    session = cloud.item("sessions", "session_id", sid)
    assert session is not None and session["status"]["S"] == "revoked"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 400, "refresh_token"),
        ({"refresh_token": ""}, 400, "refresh_token"),
        ({"refresh_token": 12}, 400, "refresh_token"),
        ({"refresh_token": "srt_unknown"}, 400, "invalid"),
        ({"refresh_token": "x" * 200}, 400, "refresh_token"),
    ],
)
def test_bad_refresh_requests(cloud: Cloud, client: TestClient, body: dict[str, Any], status: int, needle: str) -> None:
    response = client.post("/refresh", json=body)
    assert response.status_code == status
    assert needle in response.json()["error_description"]
