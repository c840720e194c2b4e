"""Sign-in tells nothing about which usernames exist: an unknown username, a locked account and a wrong password
get the same status and body, make the same DynamoDB calls in the same order and cost exactly one argon2
verification each (the calls are recorded with botocore's event hooks on the service's own client).

Registration: in invite mode a bad invite is refused before the username is looked at (test_idp_registration.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from idp import accounts
from idp.accounts import MAX_FAILED_LOGINS
from stratus_common.aws import client as aws_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    accounts._dummy_hash.cache_clear()
    return counting


def _recorded(client: TestClient, hasher: CountingHasher, data: dict[str, str]) -> tuple[Any, list[Any], int]:
    """Send one sign-in; return the response, the DynamoDB calls it made (operation, table) and its verifications."""
    calls: list[tuple[str, str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params.get("TableName", "")))

    dynamodb = aws_client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", record)
    before = hasher.verifications
    try:
        response = client.post("/token", data={"grant_type": "password", **data})
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", record)
    return response, calls, hasher.verifications - before


def test_unknown_locked_and_wrong_look_alike(
    cloud: Cloud, client: TestClient, hasher: CountingHasher, login: Callable[..., Any]
) -> None:
    # GIVEN an account with a wrong-password attempt to come, and a locked one
    for name in ("alice", "locked-out"):
        assert client.post("/register", json={"username": name, "password": PASSWORD}).status_code == 201
    for _ in range(MAX_FAILED_LOGINS):
        assert login(username="locked-out", password="a wrong guess!").status_code == 400
    # WHEN each is tried
    unknown = _recorded(client, hasher, {"username": "nobody-here", "password": PASSWORD})
    locked = _recorded(client, hasher, {"username": "locked-out", "password": PASSWORD})  # the right one!
    wrong = _recorded(client, hasher, {"username": "alice", "password": "a wrong guess!"})
    # THEN the answers are the same
    for response, _, _ in (unknown, locked, wrong):
        assert response.status_code == 400
        assert response.json() == unknown[0].json()
        assert response.headers.get("retry-after") is None
    # AND so are the DynamoDB calls, in order (rate limits, the account's read, the attempt's reservation)
    assert unknown[1] == locked[1] == wrong[1]
    tables = cloud.tables
    assert unknown[1] == [
        ("UpdateItem", tables["rate_limits"]),
        ("UpdateItem", tables["rate_limits"]),
        ("GetItem", tables["accounts"]),
        ("UpdateItem", tables["accounts"]),
    ]
    # AND each cost exactly one argon2 verification
    assert (unknown[2], locked[2], wrong[2]) == (1, 1, 1)


def test_the_unknown_users_reservation_creates_nothing(
    cloud: Cloud, client: TestClient, login: Callable[..., Any]
) -> None:
    assert login(username="ghost-user", password=PASSWORD).status_code == 400
    assert cloud.item("accounts", "account_id", "user#ghost-user") is None
