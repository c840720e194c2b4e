"""Protection per route: services' ``auth``/``scopes``/``rate_limit`` and their ``routes`` overrides become the HTTP
API's routes, their authorizers, and the policies the authorizer decides by (``STRATUS_ROUTES``); what
``stratus validate`` refuses about them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stratus.manifest import ManifestError, Stack, parse_stack
from stratus.manifest.routes import ANONYMOUS_AUTHORIZER_KEY, policies

LIMITS = {"rate_limits": {"hash_key": "limit_key", "ttl_attribute": "expires_at"}}
GATEWAY = {"kind": "lambda", "path": "/", "uses": {"rate_limits": "read-write"}}


def stack(services: dict[str, Any], *, env: str = "dev", **tables: Any) -> Stack:
    raw = {"project": {"name": "acme"}, "tables": LIMITS, "services": {"gateway": GATEWAY, **services}, **tables}
    return parse_stack(raw, root=Path("/nowhere"), env=env)


def problems(services: dict[str, Any], **tables: Any) -> list[str]:
    with pytest.raises(ManifestError) as info:
        stack(services, **tables)
    return [p.render().removeprefix("stratus.toml: ") for p in info.value.problems]


def records(**fields: Any) -> dict[str, Any]:
    return {"kind": "lambda", "path": "/records", "auth": "token", **fields}


OVERRIDES = {
    "GET /leaderboard": {"auth": "none", "rate_limit": {"requests": 120, "period": 60}},
    "POST /": {"scopes": ["records:write"]},
    "DELETE /{record_id}": {"scopes": ["records:admin"], "auth": "api_key"},
}


def test_overrides_become_routes_api_gateway_prefers_with_their_own_policies() -> None:
    plan = stack({"records": records(scopes=["records:read"], routes=OVERRIDES)}).plan
    routes = {route.key: route for route in plan.routes if route.target == "records"}
    # THEN the service keeps its two routes, and each override adds one under the service's path
    assert set(routes) == {
        "ANY /records", "ANY /records/{proxy+}", "GET /records/leaderboard", "POST /records",
        "DELETE /records/{record_id}",
    }  # fmt: skip
    # AND each route names the authorizer of its own mode: the public leaderboard the anonymous one (it is limited)
    assert {key: route.authorizer for key, route in routes.items()} == {
        "ANY /records": "token",
        "ANY /records/{proxy+}": "token",
        "GET /records/leaderboard": ANONYMOUS_AUTHORIZER_KEY,
        "POST /records": "token",
        "DELETE /records/{record_id}": "api_key",
    }
    # AND an override replaces what it sets, and inherits the rest from its service
    assert routes["POST /records"].policy.scopes == ("records:write",)
    assert routes["ANY /records"].policy.scopes == ("records:read",)
    assert routes["GET /records/leaderboard"].policy.scopes == ()


def test_the_authorizer_gets_every_guarded_routes_policy_and_nothing_else() -> None:
    s = stack({"records": records(routes=OVERRIDES), "site": {"kind": "lambda", "path": "/site"}})
    table = policies(s)
    assert table["POST /records"] == {"auth": "token", "scopes": ["records:write"]}
    assert table["GET /records/leaderboard"] == {
        "auth": "none",
        "rate_limit": {"requests": 120, "period": 60, "bucket": "route:GET /records/leaderboard"},
    }
    assert not any(key.endswith("/site") or "/site/" in key for key in table)  # public, unlimited: no authorizer
    assert json.loads(s.plan.services["gateway"].environment["STRATUS_ROUTES"]) == table


def test_a_services_limit_is_one_counter_for_all_its_routes_and_an_overrides_its_own() -> None:
    limited = records(rate_limit={"requests": 5}, routes={"POST /": {"rate_limit": {"requests": 1}}, "GET /x": {}})
    with pytest.raises(ManifestError):  # an override that sets nothing is refused...
        stack({"records": limited})
    limited["routes"] = {"POST /": {"rate_limit": {"requests": 1}}, "GET /mine": {"scopes": ["me"]}}
    table = policies(stack({"records": limited}))  # ...so give it something
    buckets = {key: value["rate_limit"]["bucket"] for key, value in table.items()}  # type: ignore[index]
    assert buckets == {
        "ANY /records": "service:records",
        "ANY /records/{proxy+}": "service:records",
        "GET /records/mine": "service:records",
        "POST /records": "route:POST /records",
    }


def test_a_rate_limited_public_service_gets_the_anonymous_authorizer_without_identity_sources() -> None:
    s = stack({"site": {"kind": "lambda", "path": "/site", "rate_limit": {"requests": 10, "period": 1}}})
    anonymous = s.plan.authorizers[ANONYMOUS_AUTHORIZER_KEY]
    assert (anonymous.identity_sources, anonymous.ttl) == ((), 0)
    assert {r.key: r.authorizer for r in s.plan.routes if r.target == "site"} == {
        "ANY /site": ANONYMOUS_AUTHORIZER_KEY, "ANY /site/{proxy+}": ANONYMOUS_AUTHORIZER_KEY
    }  # fmt: skip


def test_with_cors_guarded_any_routes_get_preflight_routes_without_the_authorizer() -> None:
    s = stack({"records": records(routes=OVERRIDES)}, api={"cors": {"allow_origins": ["https://a.example"]}})
    preflights = {r.key: r.authorizer for r in s.plan.routes if r.key.startswith("OPTIONS")}
    # the public limited route reads no credentials, so its preflight passes as is; $default gets none
    assert preflights == {"OPTIONS /records": None, "OPTIONS /records/{proxy+}": None}


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"kind": "lambda", "path": "/p", "scopes": ["a"]}, "services.p.scopes: scopes are checked on a caller"),
        (records(routes={"GET /x": {"auth": "none", "scopes": ["a"]}}), "services.records.routes.GET /x.scopes"),
        (records(routes={"GET /x": {}}), "services.records.routes.GET /x: sets nothing"),
        (records(routes={"GET x": {"auth": "none"}}), "services.records.routes"),
        (records(routes={"FETCH /x": {"auth": "none"}}), "services.records.routes"),
        (records(routes={"GET /{a+}/b": {"auth": "none"}}), "services.records.routes"),
        (records(routes={"GET /x": {"scopes": ["has space"]}}), "services.records.routes.GET /x.scopes.0"),
    ],
)
def test_scopes_without_a_caller_and_malformed_overrides_are_refused(service: dict[str, Any], expected: str) -> None:
    name = "records" if service.get("path") == "/records" else "p"
    out = problems({name: service})
    assert any(p.startswith(expected) for p in out), out


def test_an_override_cannot_take_a_route_of_another_service() -> None:
    out = problems({"records": records(), "site": {"kind": "lambda", "path": "/site"}} | {
        "gateway": {**GATEWAY, "routes": {"GET /records/top": {"auth": "none"}}}
    })  # fmt: skip
    assert out == [
        "services.gateway.routes.GET /records/top: /records/top is under /records, another service's path: a route "
        "overrides only its own service's routes"
    ]


def test_a_rate_limit_needs_the_authorizers_rate_limits_table() -> None:
    raw = {
        "project": {"name": "acme"},
        "services": {"gateway": {"kind": "lambda", "path": "/"}, "site": {"kind": "lambda", "path": "/site",
                                                                           "rate_limit": {"requests": 1}}},
    }  # fmt: skip
    with pytest.raises(ManifestError) as info:
        parse_stack(raw, root=Path("/nowhere"))
    assert [p.location for p in info.value.problems] == ["services.site.rate_limit"]
    assert "services.gateway.uses" in info.value.problems[0].message


def test_a_cached_decision_is_refused_where_it_would_skip_a_limit_or_a_scope() -> None:
    authorizer = {"service": "gateway", "handler": "gateway.authorizer.handler", "ttl": 300,
                  "identity_sources": ["$request.header.Authorization"]}  # fmt: skip
    out = problems({"records": records(routes=OVERRIDES)}, api={"authorizer": authorizer})
    assert any(p.startswith("api.authorizer.ttl: a cached decision is not counted") for p in out)
    assert any(p.startswith("api.authorizer.ttl: one cached decision covers every route") for p in out)
    # caching per route ($context.routeKey) keeps scopes per route; a route's limit still needs every request
    per_route = {**authorizer, "identity_sources": ["$request.header.Authorization", "$context.routeKey"]}
    assert stack({"records": records(routes={"POST /": {"scopes": ["w"]}})}, api={"authorizer": per_route})


def test_a_cached_decision_shared_by_routes_of_two_auth_modes_is_refused() -> None:
    # One authorizer (explicit identity sources) guards an api_key service and a token one: AWS keys its cache on
    # the identity values alone, so a key accepted on /keys would be accepted on /records for the TTL.
    authorizer = {"service": "gateway", "handler": "gateway.authorizer.handler", "ttl": 300,
                  "identity_sources": ["$request.header.x-api-key"]}  # fmt: skip
    keys = {"kind": "lambda", "path": "/keys", "auth": "api_key"}
    out = problems({"records": records(), "keys": keys}, api={"authorizer": authorizer})
    assert out == [
        "api.authorizer.ttl: one cached decision covers every route the authorizer guards, so a decision made for "
        "one auth mode would be reused on routes of another (api_key: keys; token: records): set ttl = 0, or add "
        '"$context.routeKey" to identity_sources to cache per route'
    ]
    per_route = {**authorizer, "identity_sources": ["$request.header.x-api-key", "$context.routeKey"]}
    assert stack({"records": records(), "keys": keys}, api={"authorizer": per_route})
    # without caching, or with one authorizer per mode (no identity sources named), nothing is shared
    assert stack({"records": records(), "keys": keys}, api={"authorizer": {**authorizer, "ttl": 0}})
    per_mode = {"service": "gateway", "handler": "gateway.authorizer.handler", "ttl": 0}
    assert stack({"records": records(), "keys": keys}, api={"authorizer": per_mode})


def test_development_origins_are_refused_outside_development_environments() -> None:
    cors = {"cors": {"allow_origins": ["http://localhost:5173", "https://app.example"]}}
    envs = {"prod": {}}
    out = problems({}, api=cors, environments=envs)
    assert out == [
        "api.cors.allow_origins: http://localhost:5173 would be allowed in environment prod; set "
        "environments.prod.cors_origins to its own origins"
    ]
    # WHEN production states its own origins, dev keeps the local one
    ok = stack({}, api=cors, environments={"prod": {"cors_origins": ["https://app.example"]}})
    assert ok.cors_origins == ["http://localhost:5173", "https://app.example"]
    assert ok.cors_origins_in("prod") == ["https://app.example"]
    assert problems({}, api=cors, environments={"prod": {"cors_origins": ["http://127.0.0.1:3000"]}}) == [
        "environments.prod.cors_origins: http://127.0.0.1:3000 would be allowed in environment prod"
    ]
