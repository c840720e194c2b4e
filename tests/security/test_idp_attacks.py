"""Attacks on the identity provider through `stratus dev`, as the security review ran them: concurrent password
guesses against the lockout, sign-in and registration floods, account enumeration, a refresh that should not burn
its token, a revoked machine client, and secrets in the logs.

Each test runs against the reference stack (tests/conftest.py) from a source address of its own (127.0.0.12x: the
HTTP API puts the socket's peer in requestContext.http.sourceIp), with fresh usernames, so that no limit of one test
touches another's, nor the `demo` user or 127.0.0.1 that the other end-to-end tests use.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from stratus.deploy import accounts as deploy_accounts
from stratus.local import client as local_client
from stratus.manifest import load_stack
from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase 7"
MAX_FAILED_LOGINS = 5


@contextmanager
def client_from(stack: DevStack, address: str) -> Iterator[httpx.Client]:
    """A client whose requests come from ``address`` (the HTTP API's sourceIp)."""
    with httpx.Client(base_url=stack.url, transport=httpx.HTTPTransport(local_address=address), timeout=60) as client:
        yield client


def register(stack: DevStack, address: str, **extra: str) -> tuple[str, dict[str, Any]]:
    """A fresh account (dev registration is open): its username and the 201 body."""
    username = f"atk-{uuid.uuid4().hex[:12]}"
    with client_from(stack, address) as client:
        response = client.post("/auth/register", json={"username": username, "password": PASSWORD, **extra})
    assert response.status_code == 201, response.text
    return username, response.json()


def sign_in(client: httpx.Client, username: str, password: str, **extra: str) -> httpx.Response:
    return client.post("/auth/token", data={"grant_type": "password", "username": username, "password": password,
                                            **extra})  # fmt: skip


def account_item(stack: DevStack, username: str) -> dict[str, Any]:
    """The user's item in the local cloud's accounts table."""
    dynamodb = local_client.client(stack.dev_state(), "dynamodb")
    table = deploy_accounts.table_name(load_stack(stack.root))
    item: dict[str, Any] = dynamodb.get_item(
        TableName=table, Key={"account_id": {"S": f"user#{username}"}}, ConsistentRead=True
    )["Item"]
    return item


def password_checks(stack: DevStack, subject: str) -> int:
    """How many passwords the idp verified against the account of *subject* (its "Password checked" log lines)."""
    return sum(1 for line in stack.logs().splitlines() if "Password checked" in line and subject in line)


def wait_for_checks(stack: DevStack, subject: str, expected: int) -> int:
    """The count once it reaches *expected* (logs arrive in batches), then once more a moment later."""
    deadline = time.monotonic() + 20
    while password_checks(stack, subject) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # let any late line arrive, so that a count above *expected* shows
    return password_checks(stack, subject)


def within_one_window(period: int, needed: int) -> None:
    """Wait, if need be, for a fixed window of *period* seconds with *needed* seconds left (the limits' windows are
    aligned on multiples of the period), so that a burst is counted in one window."""
    left = period - time.time() % period
    if left < needed:
        time.sleep(left + 0.5)


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


def test_concurrent_guesses_after_four_failures_check_one_more_password_at_most(repo_stack: DevStack) -> None:
    address = "127.0.0.121"
    username, registered = register(repo_stack, address)
    subject = registered["sub"]
    with client_from(repo_stack, address) as client:
        # GIVEN four wrong guesses
        for n in range(MAX_FAILED_LOGINS - 1):
            assert sign_in(client, username, f"wrong guess number {n}").status_code == 400
        # WHEN eight attempts arrive at once, seven wrong and the right one
        guesses = [f"concurrent wrong {n}" for n in range(7)]
        guesses.insert(3, PASSWORD)
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda guess: sign_in(client, username, guess).status_code, guesses))
    # THEN at most one got in (and the per-username limit, 10 per 5 minutes, may have stopped the last two of the
    # twelve before any check), and exactly the passwords the policy allows were checked
    assert set(statuses) <= {200, 400, 429} and statuses.count(200) <= 1 and statuses.count(429) <= 2, statuses
    item = account_item(repo_stack, username)
    if 200 in statuses:
        # the right one won the fifth slot and cleared the count; wrong guesses arriving after it started a new
        # window, each counted in the item: every check is accounted for
        late = _number(item, "failed_logins")
        assert wait_for_checks(repo_stack, subject, MAX_FAILED_LOGINS + late) == MAX_FAILED_LOGINS + late
    else:
        # a wrong one won the fifth slot: five checks in all, the account locked, the right password refused
        assert wait_for_checks(repo_stack, subject, MAX_FAILED_LOGINS) == MAX_FAILED_LOGINS
        assert _number(item, "failed_logins") == MAX_FAILED_LOGINS
        assert _number(item, "last_failure_at") + 15 * 60 > time.time()
        with client_from(repo_stack, address) as client:  # refused unchecked (429 once the username limit is hit)
            assert sign_in(client, username, PASSWORD).status_code in (400, 429)
        assert wait_for_checks(repo_stack, subject, MAX_FAILED_LOGINS) == MAX_FAILED_LOGINS


def _until_limited(send: Any, bound: int) -> tuple[int, httpx.Response]:
    """Send until a 429 (at most *bound* requests); the number of requests admitted before it, and the 429."""
    for admitted in range(bound):
        response: httpx.Response = send(admitted)
        if response.status_code == 429:
            return admitted, response
        assert response.status_code < 500, response.text
    raise AssertionError(f"no 429 after {bound} requests")


def test_sign_in_is_limited_per_source_ip(repo_stack: DevStack) -> None:
    within_one_window(60, needed=25)
    with client_from(repo_stack, "127.0.0.122") as client:
        admitted, limited = _until_limited(lambda n: sign_in(client, f"nobody-{uuid.uuid4().hex[:8]}", PASSWORD), 80)
    assert admitted == 30  # IDP_SIGNIN_RATE_LIMIT_IP = "30/60" in stratus.toml
    assert limited.json() == {
        "error": "too_many_requests",
        "error_description": "Too many sign-in attempts; retry later",
    }
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert (limited.headers["x-ratelimit-limit"], limited.headers["x-ratelimit-remaining"]) == ("30", "0")


def test_sign_in_is_limited_per_username_even_an_unknown_one(repo_stack: DevStack) -> None:
    within_one_window(300, needed=20)
    target = f"ghost-{uuid.uuid4().hex[:8]}"  # does not exist
    with client_from(repo_stack, "127.0.0.123") as first, client_from(repo_stack, "127.0.0.124") as second:
        admitted, limited = _until_limited(lambda n: sign_in((first, second)[n % 2], target, f"guess {n}"), 40)
    assert admitted == 10  # IDP_SIGNIN_RATE_LIMIT_USERNAME = "10/300", whatever the source IP
    assert limited.json()["error"] == "too_many_requests"
    assert int(limited.headers["retry-after"]) > 0


def test_registration_is_limited_per_source_ip(repo_stack: DevStack) -> None:
    within_one_window(3600, needed=30)
    with client_from(repo_stack, "127.0.0.125") as client:
        # bodies the service refuses (422) still count: the limit comes before anything else
        admitted, limited = _until_limited(lambda n: client.post("/auth/register", json={"username": "x"}), 100)
    assert admitted == 60  # dev: IDP_REGISTER_RATE_LIMIT_IP = "60/3600"
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["retry-after"]) > 0


def test_unknown_locked_and_wrong_get_the_same_answer(repo_stack: DevStack) -> None:
    address = "127.0.0.126"
    victim, _ = register(repo_stack, address)
    locked, _ = register(repo_stack, address)
    with client_from(repo_stack, address) as client:
        for n in range(MAX_FAILED_LOGINS):
            sign_in(client, locked, f"lock it {n}")
        answers = [
            sign_in(client, f"nobody-{uuid.uuid4().hex[:8]}", PASSWORD),
            sign_in(client, locked, PASSWORD),
            sign_in(client, victim, "not the password"),
        ]
    assert {answer.status_code for answer in answers} == {400}
    assert answers[0].json() == answers[1].json() == answers[2].json()


def test_a_refresh_with_a_bad_scope_does_not_burn_the_token(repo_stack: DevStack) -> None:
    username, _ = register(repo_stack, "127.0.0.127")
    with client_from(repo_stack, "127.0.0.127") as client:
        tokens = sign_in(client, username, PASSWORD).json()
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        refused = client.post("/auth/token", data={**form, "scope": "admin"})
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
        retried = client.post("/auth/token", data=form)
        assert retried.status_code == 200, retried.text
        userinfo = client.get("/auth/userinfo", headers={"authorization": f"Bearer {retried.json()['access_token']}"})
        assert userinfo.status_code == 200


def _stratus(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.run(*args)


def test_a_revoked_client_gets_no_token_and_an_invite_adds_its_scopes(repo_stack: DevStack) -> None:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    created = _stratus(repo_stack, "client", "create", name, "--scope", "api")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    with client_from(repo_stack, "127.0.0.128") as client:
        assert client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(name, secret)).is_success
        assert _stratus(repo_stack, "client", "revoke", name).returncode == 0
        refused = client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(name, secret))
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    listed = _stratus(repo_stack, "client", "list")
    assert secret not in listed.stdout
    assert {"client_id": name, "status": "revoked"}.items() <= next(
        found for found in json.loads(listed.stdout) if found["client_id"] == name
    ).items()
    # an invite made by the command is redeemed by the idp, for its extra scope, once
    invite = _stratus(repo_stack, "invite", "create", "--scope", "beta")
    assert invite.returncode == 0, invite.stderr
    _, body = register(repo_stack, "127.0.0.128", invite=invite.stdout.strip())
    assert "beta" in body["scopes"]


def test_no_password_or_hash_reaches_the_logs(repo_stack: DevStack) -> None:
    address = "127.0.0.129"
    username, _ = register(repo_stack, address)
    wrong = f"typed-wrong-{uuid.uuid4().hex}"
    with client_from(repo_stack, address) as client:
        for _ in range(MAX_FAILED_LOGINS + 1):
            assert sign_in(client, username, wrong).status_code == 400
        assert sign_in(client, wrong, PASSWORD).status_code == 400  # a password typed into the username field
        refused = client.post("/auth/register", json={"username": username, "password": wrong})
        assert refused.status_code == 409
    stored = account_item(repo_stack, username)["password_hash"]["S"]
    repo_stack.wait_log("Password checked")
    time.sleep(1.0)  # the last batch of log lines
    output = repo_stack.output()
    for secret in (PASSWORD, wrong, stored, stored.rsplit("$", 1)[-1]):
        assert secret not in output, secret[:8]
    assert not re.search(r"\$argon2id\$", output)
