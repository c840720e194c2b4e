"""Registration modes (IDP_REGISTRATION = open | invite | closed), invites (one TransactWriteItems with the user),
the default scopes (IDP_USER_SCOPES), and what a refusal reveals."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from idp import config
from idp.errors import ConfigurationError
from stratus_common import invites

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(("env", "mode"), [("local", "open"), ("dev", "open"), ("prod", "closed"), ("test", "closed")])
def test_the_default_mode_is_open_only_in_the_local_cloud(monkeypatch: pytest.MonkeyPatch, env: str, mode: str) -> None:
    monkeypatch.delenv("IDP_REGISTRATION")
    monkeypatch.setenv("STRATUS_ENV", env)
    assert config.registration_mode() == mode


def test_an_unknown_mode_stops_the_service_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_REGISTRATION", "sometimes")
    with pytest.raises(ConfigurationError, match="IDP_REGISTRATION must be open, invite or closed"):
        config.check_configuration()
    # as the Lambda's init does: importing the app fails, with the reason and no traceback of ours to read
    env = {**os.environ, "IDP_REGISTRATION": "sometimes"}
    done = subprocess.run([sys.executable, "-c", "import idp.main"], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "IDP_REGISTRATION must be open, invite or closed" in done.stderr


def test_closed_registration_is_a_403(cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_REGISTRATION", "closed")
    response = client.post("/register", json={"username": "dave", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "registration_closed"
    assert cloud.item("accounts", "account_id", "user#dave") is None


def test_registered_users_get_the_configured_scopes(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_USER_SCOPES", "profile records:write")
    response = client.post("/register", json={"username": "erin", "password": PASSWORD})
    assert response.status_code == 201
    assert response.json()["scopes"] == ["profile", "records:write"]


# ------------------------------------------------------------------------------------------- invites


@pytest.fixture
def invite_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_REGISTRATION", "invite")


@pytest.fixture
def make_invite(cloud: Cloud) -> Callable[..., str]:
    def make(scopes: tuple[str, ...] = (), **kwargs: Any) -> str:
        return invites.create_invite(cloud.dynamodb, cloud.tables["accounts"], scopes=scopes, **kwargs).code

    return make


def _status(cloud: Cloud) -> list[str]:
    return [invite.status for invite in invites.list_invites(cloud.dynamodb, cloud.tables["accounts"])]


def test_an_invite_registers_once_with_its_scopes(
    invite_mode: None, cloud: Cloud, client: TestClient, make_invite: Callable[..., str], login: Callable[..., Any]
) -> None:
    code = make_invite(("records:write",))
    response = client.post("/register", json={"username": "Frank", "password": PASSWORD, "invite": code})
    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == ["profile", "records:write"]
    assert login(username="frank").json()["scope"] == "profile records:write"
    assert _status(cloud) == ["used"]
    # the same code again: refused
    again = client.post("/register", json={"username": "grace", "password": PASSWORD, "invite": code})
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "invalid_invite"
    assert cloud.item("accounts", "account_id", "user#grace") is None


def test_a_taken_username_with_a_valid_invite_is_a_409_and_the_invite_stays_usable(
    invite_mode: None, cloud: Cloud, client: TestClient, make_invite: Callable[..., str]
) -> None:
    first, second = make_invite(), make_invite()
    assert (
        client.post("/register", json={"username": "heidi", "password": PASSWORD, "invite": first}).status_code == 201
    )
    taken = client.post("/register", json={"username": "HEIDI", "password": PASSWORD, "invite": second})
    assert taken.status_code == 409
    assert sorted(_status(cloud)) == ["active", "used"]  # the transaction consumed nothing
    other = client.post("/register", json={"username": "ivan", "password": PASSWORD, "invite": second})
    assert other.status_code == 201


@pytest.mark.parametrize("problem", ["missing", "garbage", "unknown", "expired", "used"])
def test_a_bad_invite_is_a_403_that_says_nothing_about_the_username(
    invite_mode: None, cloud: Cloud, client: TestClient, make_invite: Callable[..., str], problem: str
) -> None:
    # GIVEN a taken username, and an invite that cannot be used
    assert client.post("/register", json={"username": "judy", "password": PASSWORD, "invite": make_invite()}).is_success
    code = {
        "missing": None,
        "garbage": "let-me-in",
        "unknown": "sti_" + "A" * 43,
        "expired": make_invite(clock=lambda: 1_000_000_000.0),
        "used": make_invite(),
    }[problem]
    if problem == "used":
        assert client.post("/register", json={"username": "used-it", "password": PASSWORD, "invite": code}).is_success
    answers = []
    for username in ("judy", "nobody-yet"):  # taken, free
        body: dict[str, Any] = {"username": username, "password": PASSWORD}
        if code is not None:
            body["invite"] = code
        answers.append(client.post("/register", json=body))
    # THEN both are the same 403: the invite is checked before the username
    assert [answer.status_code for answer in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"]["code"] == "invalid_invite"
    assert cloud.item("accounts", "account_id", "user#nobody-yet") is None


def test_open_mode_still_says_a_username_is_taken(cloud: Cloud, client: TestClient) -> None:
    assert client.post("/register", json={"username": "karl", "password": PASSWORD}).status_code == 201
    assert client.post("/register", json={"username": "karl", "password": PASSWORD}).status_code == 409
