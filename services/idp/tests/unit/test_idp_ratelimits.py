"""Sign-in and registration limits: per source IP, per username (unknown ones too), per client id; counted in the
rate_limits table BEFORE any argon2 work; 429 with Retry-After and X-RateLimit-*; 503 when the table fails.

The limiter's clock is fixed (a real RateLimiter on moto, given a clock), so no test straddles a window's end.
Requests from several IPs go through the Lambda handler, with API Gateway's ``requestContext.http.sourceIp``.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from idp import accounts, config, main, ratelimits
from idp.errors import ConfigurationError
from stratus_common.aws import client as aws_client
from stratus_common.ratelimit import RateLimiter, RatePolicy
from stratus_common.settings import table_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
NOW = 1_800_000_010.0  # 10 s into a minute, 10 s into an hour: every window here has room


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0
        self.hashes = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashes += 1
        return super().hash(password, salt=salt)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    accounts._dummy_hash.cache_clear()
    return counting


@pytest.fixture(autouse=True)
def fixed_clock(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        ratelimits,
        "get_limiter",
        lambda: RateLimiter(aws_client("dynamodb"), table_name("rate_limits"), clock=lambda: NOW),
    )


@pytest.fixture
def signin(http_event: Callable[..., dict[str, Any]], as_json: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """POST /auth/token through the Lambda handler from *ip*; return (status, headers, body)."""

    def run(ip: str, headers: dict[str, str] | None = None, **params: str) -> tuple[int, dict[str, str], Any]:
        event = http_event(
            "POST",
            "/auth/token",
            body=urlencode(params).encode(),
            headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        event["requestContext"]["http"]["sourceIp"] = ip
        response = main.handler(event, None)
        return response["statusCode"], {k.lower(): v for k, v in response["headers"].items()}, as_json(response)

    return run


@pytest.fixture(autouse=True)
def base_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATUS_BASE_PATH", "/auth")
    from stratus_common.settings import get_settings

    get_settings.cache_clear()


def test_the_defaults_and_the_variables() -> None:
    assert ratelimits.policy(ratelimits.SIGNIN_IP) == RatePolicy(30, 60)
    assert ratelimits.policy(ratelimits.SIGNIN_USERNAME) == RatePolicy(10, 300)
    assert ratelimits.policy(ratelimits.REGISTER_IP) == RatePolicy(10, 3600)
    assert (ratelimits.SIGNIN_IP, ratelimits.SIGNIN_USERNAME, ratelimits.REGISTER_IP) == (
        "IDP_SIGNIN_RATE_LIMIT_IP",
        "IDP_SIGNIN_RATE_LIMIT_USERNAME",
        "IDP_REGISTER_RATE_LIMIT_IP",
    )


@pytest.mark.parametrize("value", ["lots", "0/60", "5/0", "5/99999"])
def test_a_malformed_limit_stops_the_service_at_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_USERNAME", value)
    with pytest.raises(ConfigurationError, match="IDP_SIGNIN_RATE_LIMIT_USERNAME"):
        config.check_configuration()


def test_sign_in_is_limited_per_source_ip_before_argon2(
    monkeypatch: pytest.MonkeyPatch, hasher: CountingHasher, signin: Callable[..., Any]
) -> None:
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_IP", "3/60")
    # GIVEN three attempts from one IP, each for another (unknown) username
    for n in range(3):
        status, _, body = signin("198.51.100.7", grant_type="password", username=f"guess-{n}", password=PASSWORD)
        assert (status, body["error"]) == (400, "invalid_grant")
    verified = hasher.verifications
    # WHEN a fourth comes from that IP
    status, headers, body = signin("198.51.100.7", grant_type="password", username="guess-9", password=PASSWORD)
    # THEN it is a 429 in the token endpoint's RFC 6749 shape, with when to retry, and no password was checked
    assert status == 429
    assert body == {"error": "too_many_requests", "error_description": "Too many sign-in attempts; retry later"}
    assert int(headers["retry-after"]) == 50  # the minute's window ends 50 s after NOW
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]) == ("3", "0")
    assert headers["x-ratelimit-reset"] == "1800000060"
    assert headers["cache-control"] == "no-store"
    assert hasher.verifications == verified
    # AND another IP still has its own budget (the IP is API Gateway's requestContext.http.sourceIp)
    status, _, _ = signin("198.51.100.8", grant_type="password", username="guess-9", password=PASSWORD)
    assert status == 400


def test_sign_in_is_limited_per_username_unknown_ones_included(
    monkeypatch: pytest.MonkeyPatch, hasher: CountingHasher, signin: Callable[..., Any], cloud: Cloud
) -> None:
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_USERNAME", "2/300")
    # GIVEN two attempts on one username that does not exist, from two IPs, written two ways
    assert signin("203.0.113.1", grant_type="password", username="Nobody", password=PASSWORD)[0] == 400
    assert signin("203.0.113.2", grant_type="password", username="nobody ", password=PASSWORD)[0] == 400
    verified = hasher.verifications
    # WHEN a third comes from yet another IP
    status, headers, body = signin("203.0.113.3", grant_type="password", username="NOBODY", password=PASSWORD)
    # THEN it is refused before any argon2 work
    assert (status, body["error"]) == (429, "too_many_requests")
    assert int(headers["retry-after"]) > 0
    assert hasher.verifications == verified
    # AND the username is counted under a hash, never as typed (people type passwords there)
    stored = json.dumps(cloud.items("rate_limits")).lower()
    assert "nobody" not in stored
    assert ratelimits.hashed("nobody") in stored


def test_client_credentials_are_limited_per_ip_and_per_client_id(
    monkeypatch: pytest.MonkeyPatch, signin: Callable[..., Any]
) -> None:
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_USERNAME", "2/300")
    monkeypatch.setenv("IDP_SIGNIN_RATE_LIMIT_IP", "3/60")
    created = main.get_accounts().create_client("reports", scopes=["api"])
    basic = {"authorization": "Basic " + base64.b64encode(f"reports:{created.secret}".encode()).decode()}
    assert signin("192.0.2.1", basic, grant_type="client_credentials")[0] == 200
    assert signin("192.0.2.2", grant_type="client_credentials", client_id="reports", client_secret="nope")[0] == 401
    status, headers, body = signin("192.0.2.3", basic, grant_type="client_credentials")
    assert (status, body["error"]) == (429, "too_many_requests")  # the client id's budget, whatever the IP
    assert "retry-after" in headers
    for n in range(3):
        signin("192.0.2.9", grant_type="client_credentials", client_id=f"other-{n}", client_secret="x")
    status, _, _ = signin("192.0.2.9", grant_type="client_credentials", client_id="other-9", client_secret="x")
    assert status == 429  # the IP's budget, shared with the password grant


def test_registration_is_limited_per_source_ip_before_argon2(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, hasher: CountingHasher
) -> None:
    monkeypatch.setenv("IDP_REGISTER_RATE_LIMIT_IP", "2/3600")
    assert client.post("/register", json={"username": "first", "password": PASSWORD}).status_code == 201
    assert client.post("/register", json={"username": "x", "password": PASSWORD}).status_code == 422  # counts too
    hashed = hasher.hashes
    response = client.post("/register", json={"username": "third", "password": PASSWORD})
    # the stack's error shape on /auth/register
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_requests"
    assert int(response.headers["retry-after"]) == 3590
    assert response.headers["x-ratelimit-limit"] == "2"
    assert hasher.hashes == hashed


def test_a_failing_rate_limits_table_is_a_503_never_a_500(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, login: Callable[..., Any], hasher: CountingHasher
) -> None:
    # GIVEN a rate_limits table that does not answer (moto: ResourceNotFoundException)
    monkeypatch.setenv("RATE_LIMITS_TABLE_NAME", "no-such-table")
    from stratus_common.settings import get_settings

    get_settings.cache_clear()
    # WHEN someone signs in or registers
    token = login(username="alice", password=PASSWORD)
    register = client.post("/register", json={"username": "newcomer", "password": PASSWORD})
    # THEN 503 with Retry-After, in each endpoint's shape, without AWS's words, and no password was looked at
    assert token.status_code == 503
    assert token.json() == {"error": "temporarily_unavailable", "error_description": "Try again later"}
    assert register.status_code == 503
    assert register.json()["error"]["code"] == "service_unavailable"
    for response in (token, register):
        assert int(response.headers["retry-after"]) > 0
        assert "ResourceNotFound" not in response.text and "no-such-table" not in response.text
    assert hasher.verifications == 0 and hasher.hashes == 0
