"""stratus_common.ratelimit and the gateway's rate limiting: one conditional write per request, the headers, 429."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from gateway import config, main
from stratus_common.environment import ConfigurationError
from stratus_common.ratelimit import TTL_GRACE, RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient

POLICY = config.RatePolicy(requests=3, period=60)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_n_requests_pass_then_the_rest_are_refused(cloud: Cloud) -> None:
    clock = Clock(1_000_000.5)  # window [999960, 1000020)
    limiter = RateLimiter(cloud.dynamodb, cloud.tables["rate_limits"], clock=clock)
    decisions = [limiter.hit("/", "ip:1.2.3.4", POLICY) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert {d.reset for d in decisions} == {1_000_020}
    refused = decisions[-1]
    assert refused.retry_after == 20  # ceil(1000020 - 1000000.5)
    assert refused.headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1000020",
        "Retry-After": "20",
    }
    assert "Retry-After" not in decisions[0].headers()
    # AND the counter stopped at the limit: a refused request writes nothing
    [item] = cloud.items("rate_limits")
    assert item["request_count"]["N"] == "3"
    assert item["expires_at"]["N"] == str(1_000_020 + TTL_GRACE)
    assert item["limit_key"]["S"] == "/|ip:1.2.3.4|999960"


def test_a_new_window_starts_a_new_count(cloud: Cloud) -> None:
    clock = Clock(1_000_000)
    limiter = RateLimiter(cloud.dynamodb, cloud.tables["rate_limits"], clock=clock)
    for _ in range(3):
        limiter.hit("/", "user:u1", POLICY)
    assert not limiter.hit("/", "user:u1", POLICY).allowed
    clock.now = 1_000_020  # the next window
    assert limiter.hit("/", "user:u1", POLICY).allowed


def test_principals_and_routes_are_counted_apart(cloud: Cloud) -> None:
    limiter = RateLimiter(cloud.dynamodb, cloud.tables["rate_limits"], clock=Clock(1_000_000))
    for _ in range(3):
        limiter.hit("/", "user:u1", POLICY)
    assert limiter.hit("/", "user:u2", POLICY).allowed
    assert limiter.hit("/users", "user:u1", POLICY).allowed
    assert not limiter.hit("/", "user:u1", POLICY).allowed


def test_one_dynamodb_call_per_request(cloud: Cloud) -> None:
    # GIVEN a count of the API calls the limiter's client makes
    calls: list[str] = []
    cloud.dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    limiter = RateLimiter(cloud.dynamodb, cloud.tables["rate_limits"], clock=Clock(1_000_000))
    # WHEN requests are admitted and refused
    for _ in range(5):
        limiter.hit("/", "ip:1.2.3.4", POLICY)
    # THEN each one cost exactly one UpdateItem
    assert calls == ["UpdateItem"] * 5


# ------------------------------------------------------------------------------------------- through the app


@pytest.fixture
def limited(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATUS_RATE_LIMIT", json.dumps({"requests": 2, "period": 3600}))
    main.reset()


def test_the_gateway_answers_with_rate_limit_headers_then_429(limited: None, client: TestClient) -> None:
    first = client.get("/sessions/current")
    assert first.status_code == 401  # not logged in, but counted
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert int(first.headers["x-ratelimit-reset"]) % 3600 == 0
    assert client.get("/nowhere").headers["x-ratelimit-remaining"] == "0"
    refused = client.get("/sessions/current")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["x-ratelimit-remaining"] == "0"


def test_the_probes_are_not_limited(limited: None, client: TestClient) -> None:
    for _ in range(5):
        assert client.get("/health").status_code == 200
        assert "x-ratelimit-limit" not in client.get("/health/live").headers


def test_anonymous_callers_are_counted_by_the_apis_source_ip_not_x_forwarded_for(
    limited: None, http_event: Callable[..., dict[str, Any]], kit: TokenKit
) -> None:
    # GIVEN a caller that changes X-Forwarded-For on every request (through the Lambda handler)
    statuses = [
        main.handler(
            http_event("GET", "/nowhere", source_ip="203.0.113.5", headers={"x-forwarded-for": f"10.0.0.{i}"}), None
        )["statusCode"]
        for i in range(3)
    ]
    # THEN it is still one principal, the API's source IP
    assert statuses == [404, 404, 429]
    # AND another source IP has its own allowance
    assert main.handler(http_event("GET", "/nowhere", source_ip="203.0.113.6"), None)["statusCode"] == 404


def test_a_signed_tokens_subject_is_the_principal(limited: None, client: TestClient, kit: TokenKit) -> None:
    token = kit.sign(kit.claims("user-9", "sess-x"))
    for _ in range(2):
        client.get("/nowhere", headers={"authorization": f"Bearer {token}"})
    assert client.get("/nowhere", headers={"authorization": f"Bearer {token}"}).status_code == 429
    assert client.get("/nowhere").status_code == 404  # the IP has its own count
    # a forged token does not buy a fresh allowance: it counts against the IP
    forged = kit.sign(kit.claims("user-10", "sess-x"), secret="forged-secret-forged-secret-forged-secret")
    assert client.get("/nowhere", headers={"authorization": f"Bearer {forged}"}).status_code == 404
    assert client.get("/nowhere", headers={"authorization": f"Bearer {forged}"}).status_code == 429


def test_the_authorizers_principal_is_used_when_api_gateway_ran_one(
    limited: None, http_event: Callable[..., dict[str, Any]]
) -> None:
    def call(principal: str) -> int:
        event = http_event("GET", "/nowhere", authorizer_context={"principalId": principal, "authMode": "api_key"})
        return int(main.handler(event, None)["statusCode"])

    assert [call("key:aaaa"), call("key:aaaa"), call("key:aaaa"), call("key:bbbb")] == [404, 404, 429, 404]


def test_when_the_table_is_unreachable_requests_are_let_through(
    limited: None, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMITS_TABLE_NAME", "no-such-table")
    from stratus_common.settings import get_settings

    get_settings.cache_clear()
    for _ in range(4):
        response = client.get("/nowhere")
        assert response.status_code == 404
        assert "x-ratelimit-limit" not in response.headers


@pytest.mark.parametrize(
    ("value", "message"),
    [("0/60", "requests"), ("10/0", "period"), ('{"requests": 5}', "period"), ("lots", "STRATUS_RATE_LIMIT")],
)
def test_a_bad_policy_is_a_configuration_error(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        config.own_rate_limit({"STRATUS_RATE_LIMIT": value})
