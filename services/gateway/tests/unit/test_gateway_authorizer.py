"""gateway.authorizer.handler: the HTTP API Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest
from gateway import authorizer, config
from stratus_common import apikeys, tokens
from stratus_common.environment import ConfigurationError
from stratus_common.sessions import SessionStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud, TokenKit

ROUTES: dict[str, dict[str, Any]] = {
    "ANY /worker": {"auth": "api_key"},
    "ANY /worker/{proxy+}": {"auth": "api_key"},
    "ANY /players": {"auth": "token"},
    "ANY /players/{proxy+}": {"auth": "token"},
    "ANY /players/admin/{proxy+}": {"auth": "api_key"},
    "POST /records": {"auth": "token", "scopes": ["records:write"]},
    "GET /records/leaderboard": {
        "auth": "none",
        "rate_limit": {"requests": 2, "period": 60, "bucket": "route:GET /records/leaderboard"},
    },
}


def use_routes(monkeypatch: pytest.MonkeyPatch, routes: dict[str, dict[str, Any]]) -> None:
    """The policies the local cloud / Terraform generate from the manifest (``stratus.manifest.routes.policies``)."""
    monkeypatch.setenv("STRATUS_ROUTES", json.dumps(routes))
    authorizer.reset()


@pytest.fixture(autouse=True)
def routes(monkeypatch: pytest.MonkeyPatch) -> None:
    use_routes(monkeypatch, ROUTES)


@pytest.fixture
def api_key(cloud: Cloud) -> str:
    created = apikeys.create_api_key(cloud.dynamodb, cloud.tables["api_keys"], name="ci", scopes=["jobs:write"])
    return created.plaintext


@pytest.fixture
def user_token(cloud: Cloud, kit: TokenKit) -> str:
    session_id = cloud.create_session("user-1")
    return kit.sign(kit.claims("user-1", session_id))


def _decide(event: dict[str, Any]) -> dict[str, Any]:
    response = authorizer.handler(event, None)
    assert set(response) <= {"isAuthorized", "context"}
    return response


# ------------------------------------------------------------------------------------------- API keys


def test_a_valid_api_key_is_authorized_with_its_context(api_key: str, authorizer_event: Callable[..., Any]) -> None:
    # GIVEN an API key route and a valid key
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    # WHEN the authorizer is invoked
    response = _decide(event)
    # THEN it is a simple response allowing the request, with the principal for the integration
    assert response["isAuthorized"] is True
    context = response["context"]
    key_id = apikeys.parse_key_id(api_key)
    assert context == {
        "principalId": f"key:{key_id}",
        "kind": "api_key",
        "keyId": key_id,
        "keyName": "ci",
        "scopes": ["jobs:write"],
        "authMode": "api_key",
    }
    assert api_key not in json.dumps(response)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": ""},
        {"x-api-key": "stk_0000000000000000_" + "A" * 43},
        {"x-api-key": "not-a-key"},
        {"authorization": "Bearer whatever"},
    ],
    ids=["missing", "empty", "unknown", "malformed", "token-instead"],
)
def test_a_missing_or_bad_api_key_is_denied(
    cloud: Cloud, authorizer_event: Callable[..., Any], headers: dict[str, str]
) -> None:
    response = _decide(authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers=headers))
    assert response == {"isAuthorized": False}


def test_the_header_name_is_case_insensitive(api_key: str, authorizer_event: Callable[..., Any]) -> None:
    event = authorizer_event("ANY /worker", "/worker", headers={"X-Api-Key": api_key})
    assert _decide(event)["isAuthorized"] is True


def test_a_revoked_api_key_is_denied_at_once(cloud: Cloud, api_key: str, authorizer_event: Callable[..., Any]) -> None:
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    assert _decide(event)["isAuthorized"] is True
    apikeys.revoke_api_key(cloud.dynamodb, cloud.tables["api_keys"], apikeys.parse_key_id(api_key) or "")
    assert _decide(event) == {"isAuthorized": False}


def test_a_user_token_does_not_open_an_api_key_route(user_token: str, authorizer_event: Callable[..., Any]) -> None:
    # GIVEN a valid user token on an API-key route: the route, not the credential, decides the mode
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"authorization": f"Bearer {user_token}"})
    assert _decide(event) == {"isAuthorized": False}


# ------------------------------------------------------------------------------------------- tokens


def test_a_valid_token_is_authorized_with_its_claims(user_token: str, authorizer_event: Callable[..., Any]) -> None:
    event = authorizer_event("ANY /players/{proxy+}", "/players/7", headers={"authorization": f"Bearer {user_token}"})
    response = _decide(event)
    assert response["isAuthorized"] is True
    assert response["context"] == {
        "principalId": "user:user-1",
        "kind": "user",
        "subject": "user-1",
        "scopes": ["profile"],
        "authMode": "token",
        "username": "alice",
    }


def test_a_client_token_names_the_client(cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]) -> None:
    session_id = cloud.create_session("reporting", kind="client")
    token = kit.sign(
        kit.claims("reporting", session_id, kind="client", client_id="reporting", preferred_username=None, scope="api")
    )
    response = _decide(authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {token}"}))
    assert response["context"]["principalId"] == "client:reporting"
    assert response["context"]["clientId"] == "reporting"
    assert response["context"]["kind"] == "client"


def test_a_revoked_sessions_token_is_refused_at_once(
    cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]
) -> None:
    # GIVEN a valid token, accepted
    session_id = cloud.create_session("user-1")
    token = kit.sign(kit.claims("user-1", session_id))
    event = authorizer_event("ANY /players/{proxy+}", "/players/1", headers={"authorization": f"Bearer {token}"})
    assert _decide(event)["isAuthorized"] is True
    # WHEN its session is revoked (logout), long before the token expires
    assert SessionStore(cloud.dynamodb, cloud.tables["sessions"]).revoke(session_id, "user-1", reason="logout")
    # THEN the very next request with it is refused
    assert _decide(event) == {"isAuthorized": False}
    assert authorizer.authorize(event).reason == "session_inactive"


def test_a_token_of_another_subjects_session_is_refused(
    cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]
) -> None:
    session_id = cloud.create_session("user-1")
    token = kit.sign(kit.claims("user-2", session_id))  # would need the secret: still, the session must match
    event = authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {token}"})
    assert _decide(event) == {"isAuthorized": False}


def test_an_expired_session_is_refused(cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]) -> None:
    session_id = cloud.create_session("user-1", lifetime=-1)  # past its end, not yet deleted by the TTL
    token = kit.sign(kit.claims("user-1", session_id))
    event = authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {token}"})
    assert _decide(event) == {"isAuthorized": False}


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "bearer x.y.z", "Token abc"],
)
def test_missing_or_malformed_authorization_is_denied(
    cloud: Cloud, authorizer_event: Callable[..., Any], authorization: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    assert _decide(authorizer_event("ANY /players", "/players", headers=headers)) == {"isAuthorized": False}


def test_forged_expired_and_unsigned_tokens_are_denied(
    cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]
) -> None:
    session_id = cloud.create_session("user-1")
    good = kit.claims("user-1", session_id)
    bad_tokens = [
        kit.sign(
            good,
            secret="another-secret-of-sufficient-length-xyz",
            headers={"kid": tokens.key_id(kit.secret.encode())},
        ),
        kit.sign({**good, "exp": good["iat"] - 10, "iat": good["iat"] - 600, "nbf": good["iat"] - 600}),
        kit.sign({**good, "nbf": good["iat"] + 3600}),
        kit.sign({**good, "iss": "https://evil.example"}),
        kit.sign({**good, "aud": "someone-else"}),
        kit.unsigned(good, {"alg": "none", "typ": "at+jwt"}),
    ]
    for token in bad_tokens:
        event = authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {token}"})
        assert _decide(event) == {"isAuthorized": False}


# ------------------------------------------------------------------------------------------- route policies


@pytest.mark.parametrize(
    ("route_key", "mode"),
    [
        ("ANY /worker/{proxy+}", "api_key"),
        ("ANY /worker", "api_key"),
        ("ANY /players/{proxy+}", "token"),
        ("ANY /players/admin/{proxy+}", "api_key"),
        ("POST /records", "token"),
        ("GET /records/leaderboard", "none"),
        ("ANY /unknown/{proxy+}", None),
        ("$default", None),
    ],
)
def test_the_route_key_decides_the_policy(
    authorizer_event: Callable[..., Any], route_key: str, mode: str | None
) -> None:
    key, policy = authorizer.policy_for(authorizer_event(route_key, "/ignored"))
    assert key == route_key
    assert (policy.auth if policy else None) == mode


@pytest.mark.parametrize("raw_path", ["/worker/jobs", "/auth/../worker/jobs", "/auth/%2e%2e/worker", "//worker"])
def test_the_path_never_chooses_the_policy(cloud: Cloud, authorizer_event: Callable[..., Any], raw_path: str) -> None:
    # GIVEN a route the table does not know ($default here is unguarded) and a path that reads as /worker
    event = authorizer_event("$default", raw_path)
    # THEN the authorizer denies: only the route API Gateway matched counts, never the path
    assert _decide(event) == {"isAuthorized": False}


def test_without_a_route_table_everything_is_denied(
    api_key: str, authorizer_event: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no STRATUS_ROUTES at all: fail closed
    monkeypatch.delenv("STRATUS_ROUTES")
    authorizer.reset()
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    assert _decide(event) == {"isAuthorized": False}


def test_an_event_without_a_route_key_is_denied(api_key: str, authorizer_event: Callable[..., Any]) -> None:
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    del event["routeKey"]
    event["requestContext"].pop("routeKey", None)
    assert _decide(event) == {"isAuthorized": False}


@pytest.mark.parametrize(
    "value",
    [
        '{"ANY /worker": {"auth": "apikey"}}',
        "not json",
        '["ANY /worker"]',
        '{"ANY /worker": "token"}',
        '{"ANY /worker": {"auth": "token", "scopes": "a b"}}',
        '{"ANY /worker": {"auth": "none", "rate_limit": {"requests": 1, "period": 60}}}',
        '{"ANY /worker": {"auth": "none", "rate_limit": {"requests": 0, "period": 60, "bucket": "b"}}}',
    ],
    ids=str,
)
def test_a_bad_route_table_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match="STRATUS_ROUTES"):
        config.route_policies({"STRATUS_ROUTES": value})


# ------------------------------------------------------------------------------------------- scopes


def test_a_token_without_the_routes_scope_is_denied(
    cloud: Cloud, kit: TokenKit, authorizer_event: Callable[..., Any]
) -> None:
    # GIVEN POST /records needs records:write, and two users: one with it, one without
    with_scope = kit.sign(kit.claims("user-1", cloud.create_session("user-1"), scope="profile records:write"))
    without = kit.sign(kit.claims("user-2", cloud.create_session("user-2"), scope="profile"))

    def decide(token: str, route_key: str) -> bool:
        event = authorizer_event(route_key, "/records", headers={"authorization": f"Bearer {token}"})
        return bool(_decide(event)["isAuthorized"])

    # THEN only the holder of the scope may store a record; both may use the rest of /players
    assert decide(with_scope, "POST /records") is True
    assert decide(without, "POST /records") is False
    assert (
        authorizer.authorize(
            authorizer_event("POST /records", "/records", headers={"authorization": f"Bearer {without}"})
        ).reason
        == "insufficient_scope"
    )
    assert decide(without, "ANY /players/{proxy+}") is True


def test_an_api_keys_scopes_are_checked_too(
    cloud: Cloud, authorizer_event: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_routes(monkeypatch, {"ANY /worker/{proxy+}": {"auth": "api_key", "scopes": ["jobs:write"]}})
    good = apikeys.create_api_key(cloud.dynamodb, cloud.tables["api_keys"], name="a", scopes=["jobs:write"]).plaintext
    bad = apikeys.create_api_key(cloud.dynamodb, cloud.tables["api_keys"], name="b", scopes=["jobs:read"]).plaintext
    decide = [
        _decide(authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": key}))["isAuthorized"]
        for key in (good, bad)
    ]
    assert decide == [True, False]


# ------------------------------------------------------------------------------------------- rate limits


def test_a_routes_rate_limit_is_applied_per_principal(
    cloud: Cloud, api_key: str, authorizer_event: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the worker's routes limited to 2 requests a minute, counted together
    bucket = {"requests": 2, "period": 60, "bucket": "service:worker"}
    use_routes(
        monkeypatch,
        {
            "ANY /worker": {"auth": "api_key", "rate_limit": bucket},
            "ANY /worker/{proxy+}": {"auth": "api_key", "rate_limit": bucket},
        },
    )
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    root = authorizer_event("ANY /worker", "/worker", headers={"x-api-key": api_key})
    # WHEN the key calls three times, over both routes
    results = [_decide(event), _decide(root), _decide(event)]
    # THEN two pass, with the counts in the context, and the third is denied
    assert [r["isAuthorized"] for r in results] == [True, True, False]
    assert results[0]["context"]["rateLimit"]["remaining"] == 1
    assert results[1]["context"]["rateLimit"]["remaining"] == 0
    # AND another principal has its own allowance
    other = apikeys.create_api_key(cloud.dynamodb, cloud.tables["api_keys"], name="other").plaintext
    other_event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": other})
    assert _decide(other_event)["isAuthorized"] is True


def test_an_anonymous_routes_rate_limit_counts_by_source_ip(cloud: Cloud, authorizer_event: Callable[..., Any]) -> None:
    # GIVEN the public leaderboard, limited to 2 a minute per caller
    def decide(ip: str) -> dict[str, Any]:
        return _decide(authorizer_event("GET /records/leaderboard", "/records/leaderboard", source_ip=ip))

    first = decide("203.0.113.9")
    # THEN the anonymous caller is named by its IP, counted, and denied the third time
    assert first == {
        "isAuthorized": True,
        "context": {
            "principalId": "ip:203.0.113.9",
            "kind": "anonymous",
            "authMode": "none",
            "rateLimit": first["context"]["rateLimit"],
        },
    }
    assert [decide("203.0.113.9")["isAuthorized"] for _ in range(2)] == [True, False]
    # AND another address is not affected
    assert decide("198.51.100.20")["isAuthorized"] is True


def test_a_route_without_a_limit_writes_no_counter(
    cloud: Cloud, user_token: str, authorizer_event: Callable[..., Any]
) -> None:
    event = authorizer_event("ANY /players", "/players", headers={"authorization": f"Bearer {user_token}"})
    assert all(_decide(event)["isAuthorized"] for _ in range(3))
    assert cloud.items("rate_limits") == []


def test_a_dynamodb_failure_raises_rather_than_allowing(
    api_key: str, authorizer_event: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the API keys table is gone
    monkeypatch.setenv("API_KEYS_TABLE_NAME", "no-such-table")
    authorizer.reset()
    event = authorizer_event("ANY /worker/{proxy+}", "/worker/jobs", headers={"x-api-key": api_key})
    # THEN the authorizer fails (API Gateway answers 500), it does not allow
    with pytest.raises(Exception, match="ResourceNotFound"):
        authorizer.handler(event, None)


# ------------------------------------------------------------------------------------------- cold start

_IMPORT_TIMER = textwrap.dedent(
    """
    import sys, time
    started = time.perf_counter()
    {statement}
    elapsed = time.perf_counter() - started
    heavy_modules = {{"fastapi", "pydantic", "starlette", "boto3", "botocore", "jwt", "mangum"}}
    heavy = sorted({{m.split(".")[0] for m in sys.modules}} & heavy_modules)
    print(elapsed, ",".join(heavy))
    """
)


BARE_APP = "from fastapi import FastAPI; from mangum import Mangum; handler = Mangum(FastAPI(), lifespan='off')"


def _import_time(statement: str) -> tuple[float, str]:
    output = subprocess.run(
        [sys.executable, "-c", _IMPORT_TIMER.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "STRATUS_ROUTES": json.dumps(ROUTES)},
    ).stdout.split()
    return float(output[0]), output[1] if len(output) > 1 else ""


def test_the_authorizer_imports_nothing_heavy_and_fast() -> None:
    # GIVEN fresh interpreters: the authorizer's cold import vs a bare FastAPI + Mangum app's (median of 5 each)
    authorizer_runs = [_import_time("import gateway.authorizer") for _ in range(5)]
    fastapi_runs = [_import_time(BARE_APP) for _ in range(5)]
    # THEN the authorizer loads none of FastAPI, pydantic, boto3 or PyJWT at import
    assert {heavy for _, heavy in authorizer_runs} == {""}
    # AND it takes at most half the time
    authorizer_ms = statistics.median(t for t, _ in authorizer_runs) * 1000
    fastapi_ms = statistics.median(t for t, _ in fastapi_runs) * 1000
    assert authorizer_ms <= fastapi_ms / 2, (authorizer_ms, fastapi_ms)
