"""Accounts: argon2id hashes, failed-login lockout, and registration's bad input."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from idp import accounts, main
from idp.accounts import FAILURE_WINDOW, LOCKOUT_SECONDS, MAX_FAILED_LOGINS, AccountStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(cloud: Cloud, clock: Clock) -> AccountStore:
    store = AccountStore(cloud.dynamodb, cloud.tables["accounts"], clock=clock)
    store.create_user("bob", PASSWORD)
    return store


def test_passwords_are_stored_as_argon2id_hashes(store: AccountStore, cloud: Cloud) -> None:
    item = cloud.item("accounts", "account_id", "user#bob")
    assert item is not None
    stored = item["password_hash"]["S"]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in json.dumps(item)
    assert PasswordHasher().verify(stored, PASSWORD)


def test_the_production_hasher_is_argon2id_rfc_9106_low_memory(production_hasher: PasswordHasher) -> None:
    from argon2 import Type

    assert production_hasher.type is Type.ID
    assert (production_hasher.time_cost, production_hasher.memory_cost, production_hasher.parallelism) == (3, 65536, 4)


def test_five_failures_lock_the_account_for_fifteen_minutes(store: AccountStore, clock: Clock) -> None:
    # GIVEN the documented numbers
    assert (MAX_FAILED_LOGINS, FAILURE_WINDOW, LOCKOUT_SECONDS) == (5, 900, 900)
    # WHEN five wrong passwords are tried within the window
    for _ in range(MAX_FAILED_LOGINS):
        clock.now += 10
        assert store.authenticate("bob", "not the password") is None
    # THEN even the right password is refused while locked...
    assert store.authenticate("bob", PASSWORD) is None
    clock.now += LOCKOUT_SECONDS - 60
    assert store.authenticate("bob", PASSWORD) is None
    # ...and works again once the lock expires
    clock.now += 61
    assert store.authenticate("bob", PASSWORD) is not None


def test_four_failures_do_not_lock_and_success_resets_the_count(store: AccountStore, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert store.authenticate("bob", "nope nope nope") is None
    assert store.authenticate("bob", PASSWORD) is not None
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert store.authenticate("bob", "nope nope nope") is None
    assert store.authenticate("bob", PASSWORD) is not None


def test_failures_older_than_the_window_are_forgotten(store: AccountStore, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert store.authenticate("bob", "nope nope nope") is None
    clock.now += FAILURE_WINDOW + 1
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert store.authenticate("bob", "nope nope nope") is None
    assert store.authenticate("bob", PASSWORD) is not None


def test_attempts_while_locked_do_not_extend_the_lock(store: AccountStore, clock: Clock, cloud: Cloud) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        store.authenticate("bob", "nope nope nope")
    user = store.get_user("bob")
    assert user is not None
    locked_until = user.locked_until
    assert locked_until == clock.now + LOCKOUT_SECONDS
    for _ in range(10):
        clock.now += 30
        store.authenticate("bob", "nope nope nope")
    user = store.get_user("bob")
    assert user is not None and user.locked_until == locked_until


def test_a_locked_account_gets_the_same_answer_as_a_wrong_password(
    alice: str, login: Callable[..., Any], client: TestClient
) -> None:
    answers = [login(password="wrong password!").json() for _ in range(MAX_FAILED_LOGINS)]
    locked = login()  # the right password, while locked
    unknown = login(username="nobody-here")
    assert locked.status_code == 400
    assert locked.json() == answers[0] == unknown.json()


def test_an_unknown_user_costs_an_argon2_verification(store: AccountStore, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = accounts._hasher

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(accounts, "_hasher", Spy())
    assert store.authenticate("nobody", PASSWORD) is None
    assert store.authenticate("bob", "wrong password!") is None
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)


# ------------------------------------------------------------------------------------------- registration


def test_register_creates_a_user_that_can_log_in(client: TestClient, login: Callable[..., Any]) -> None:
    response = client.post("/register", json={"username": "Carol", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["scopes"]) == ("carol", ["profile"])
    assert PASSWORD not in response.text
    assert login(username="carol").status_code == 200


def test_a_taken_username_is_a_409(alice: str, client: TestClient) -> None:
    response = client.post("/register", json={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "body.username"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "body.username"),
        ({"username": "dave"}, "body.password"),
        ({"username": "dave", "password": "tiny pw"}, "body.password"),
        ({"username": "dave", "password": "x" * 129}, "body.password"),
        ({"username": "dave", "password": "DAVE"}, "body.password"),
        ({"username": "davedavedave", "password": "DaveDaveDave"}, "body.password"),
        ({"username": "no spaces", "password": PASSWORD}, "body.username"),
        ({"username": "ab", "password": PASSWORD}, "body.username"),
        ({"username": 12, "password": PASSWORD}, "body.username"),
        ({"username": "dave", "password": PASSWORD, "admin": True}, "body.admin"),
    ],
)
def test_bad_registrations_are_422s_naming_the_field(
    cloud: Cloud, client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/register", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]]
    if "password" in body:
        assert str(body["password"]) not in response.text  # never echoed


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"username": "dave", ', "application/json", 400, "invalid_json"),
        (b"username=dave", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"username": "dave"}', "text/plain", 415, "unsupported_media_type"),
        (b"[]", "application/json", 422, "validation_error"),
    ],
)
def test_bad_registration_bodies(
    cloud: Cloud, client: TestClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/register", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_an_oversize_registration_is_a_413(cloud: Cloud, client: TestClient) -> None:
    response = client.post("/register", json={"username": "dave", "password": "x" * (main.MAX_BODY_BYTES + 1)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_registration_can_be_closed(cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_REGISTRATION", "closed")
    response = client.post("/register", json={"username": "dave", "password": PASSWORD})
    assert response.status_code == 403
