"""No password, token, client secret or signing secret appears in any log line or error body of the idp."""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from idp import main

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-wrong-guess"
TYPO_IN_USERNAME = "oops-my-password-123"  # a password typed into the username field


def test_secrets_never_reach_the_logs_or_the_answers(
    cloud: Cloud,
    client: TestClient,
    login: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)  # botocore's DEBUG logs echo request bodies: never run it at DEBUG in prod
    caplog.set_level(logging.DEBUG, logger="idp")
    caplog.set_level(logging.DEBUG, logger="stratus")
    secret_client = main.get_accounts().create_client("svc", scopes=["api"])
    texts: list[str] = []

    def keep(response: Any) -> Any:
        texts.append(response.text + json.dumps(dict(response.headers)))
        return response

    # WHEN every path that handles a secret runs, succeeding and failing
    keep(client.post("/register", json={"username": "alice", "password": PASSWORD}))
    keep(client.post("/register", json={"username": "alice", "password": PASSWORD}))  # taken
    keep(client.post("/register", json={"username": "bob", "password": "bob"}))  # too short
    keep(client.post("/register", json={"username": "alice", "password": PASSWORD, "extra": PASSWORD}))
    keep(
        client.post(
            "/register",
            content=b'{"username": "x", "password": "' + PASSWORD.encode(),
            headers={"content-type": "application/json"},
        )
    )
    keep(
        client.post(
            "/token",
            content=b'{"grant_type": "password", "password": "' + PASSWORD.encode(),
            headers={"content-type": "application/json"},
        )
    )
    for _ in range(6):  # through the lockout
        keep(login(password=WRONG))
    keep(login(username=TYPO_IN_USERNAME, password=WRONG))
    keep(login(username="alice", password=PASSWORD, scope="admin"))
    tokens_body = login(username="Alice", password=PASSWORD)
    client.post("/register", json={"username": "carol", "password": PASSWORD})
    good = keep(login(username="carol", password=PASSWORD)).json()
    rotated = keep(client.post("/refresh", json={"refresh_token": good["refresh_token"]})).json()
    keep(client.post("/refresh", json={"refresh_token": good["refresh_token"]}))  # reuse: family revoked
    keep(client.post("/refresh", json={"refresh_token": rotated["refresh_token"]}))
    keep(client.get("/userinfo", headers={"authorization": f"Bearer {good['access_token']}"}))
    keep(client.get("/userinfo", headers={"authorization": f"Bearer {good['access_token']}x"}))
    basic = base64.b64encode(f"svc:{secret_client.secret}".encode()).decode()
    machine = keep(
        client.post("/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {basic}"})
    ).json()
    wrong_basic = base64.b64encode(f"svc:{secret_client.secret}x".encode()).decode()
    keep(
        client.post(
            "/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {wrong_basic}"}
        )
    )
    keep(client.post("/token", data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": WRONG}))

    # THEN no secret is in the logs or in any error answer (token answers carry their own tokens, by design)
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text])
    assert "Login" in logs and "Refresh token reuse" in logs  # the logs were captured
    secrets = [
        PASSWORD,
        WRONG,
        TYPO_IN_USERNAME,
        secret_client.secret,
        good["access_token"],
        good["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        machine["access_token"],
        "idp-unit-test-signing-secret",
    ]
    errors = [text for text in texts if '"access_token"' not in text]
    for secret in secrets:
        assert secret not in logs, secret[:6]
        assert all(secret not in text for text in errors), secret[:6]
    assert tokens_body.status_code == 400  # (alice was locked by the guesses above)


def test_failing_sign_ins_and_registrations_leak_no_password_or_hash(
    cloud: Cloud,
    client: TestClient,
    login: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stratus_common import invites

    caplog.set_level(logging.DEBUG, logger="idp")
    caplog.set_level(logging.DEBUG, logger="stratus")
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_USERNAME", "8/300")
    monkeypatch.setenv("IDP_REGISTER_RATE_LIMIT_IP", "8/3600")
    invite = invites.create_invite(cloud.dynamodb, cloud.tables["accounts"]).code
    texts: list[str] = []

    def keep(response: Any) -> Any:
        texts.append(response.text + json.dumps(dict(response.headers)))
        return response

    # WHEN registrations fail every way (taken, listed password, bad invite, invite mode, rate limit)...
    assert keep(client.post("/register", json={"username": "alice", "password": PASSWORD})).status_code == 201
    keep(client.post("/register", json={"username": "alice", "password": PASSWORD}))
    keep(client.post("/register", json={"username": "bob", "password": "iloveyou1234"}))
    keep(client.post("/register", json={"username": "bob", "password": PASSWORD, "invite": "sti_" + WRONG}))
    monkeypatch.setenv("IDP_REGISTRATION", "invite")
    keep(client.post("/register", json={"username": "carol", "password": PASSWORD}))
    keep(client.post("/register", json={"username": "alice", "password": WRONG, "invite": invite}))
    keep(client.post("/register", json={"username": "dave", "password": PASSWORD, "invite": invite}))
    used = keep(client.post("/register", json={"username": "erin", "password": PASSWORD, "invite": invite}))
    limited = keep(client.post("/register", json={"username": "frank", "password": PASSWORD}))
    # ...and sign-ins fail every way (wrong, locked, unknown, typo in the username field, rate limited)
    for _ in range(7):
        keep(login(username="alice", password=WRONG))
    keep(login(username=TYPO_IN_USERNAME, password=WRONG))
    keep(login(username="ghost", password=PASSWORD))
    keep(login(username="alice", password=PASSWORD))

    # THEN neither the passwords nor the stored hashes (argon2, invite) are in the logs or the answers
    assert (used.status_code, limited.status_code) == (403, 429)
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text])
    assert "Password checked" in logs and "Registration refused" in logs  # the logs were captured
    hashes = [item["password_hash"]["S"] for item in cloud.items("accounts") if "password_hash" in item]
    hashes += [
        item["account_id"]["S"].split("#", 1)[1] for item in cloud.items("accounts") if item["kind"]["S"] == "invite"
    ]
    assert len(hashes) == 3  # alice's and dave's argon2 hashes, the invite's sha256
    for secret in [PASSWORD, WRONG, TYPO_IN_USERNAME, "iloveyou1234", invite, *hashes]:
        assert secret not in logs, secret[:6]
        assert all(secret not in text for text in texts), secret[:6]
    assert "Traceback" not in logs
