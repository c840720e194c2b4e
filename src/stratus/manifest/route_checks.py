"""Rules on how routes are protected: auth modes, scopes, rate limits, per-route overrides, the authorizer, CORS.

Each rule refuses what would leave a route less protected than the manifest says, in AWS or locally: a scope no
authorizer would check, a rate limit nobody counts, a cached decision reused on a route that needs more, an
override that takes a route from another service, a development origin allowed in production.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.manifest.problems import Problem
from stratus.manifest.routes import authorizer_key, override_key, route_policies
from stratus.manifest.schema import LambdaService

if TYPE_CHECKING:
    from stratus.manifest.routes import Policy
    from stratus.manifest.schema import Service
    from stratus.manifest.stack import Stack

RATE_LIMITS_TABLE = "rate_limits"  # the table the authorizer counts in (rate_limits or rate-limits)
# Environments where a browser page on the developer's machine may call the API.
DEVELOPMENT_ENVIRONMENTS = frozenset({"dev", "local"})


def check_protection(stack: Stack, envs: list[str]) -> list[Problem]:
    """Every problem of the routes' protection (see the module's docstring)."""
    problems: list[Problem] = []
    for name, svc in stack.services.items():
        problems += _check_service(stack, name, svc)
    problems += _check_authorizer(stack)
    problems += _check_cors(stack, envs)
    return problems


def _check_service(stack: Stack, name: str, svc: Service) -> list[Problem]:
    problems: list[Problem] = []
    where = f"services.{name}"
    if svc.auth == "none" and svc.scopes:
        problems.append(
            Problem(f"{where}.scopes", 'scopes are checked on a caller: they need auth "token" or "api_key"')
        )
    others = [other.path for other_name, other in stack.services.items() if other_name != name and other.path != "/"]
    for key, override in svc.routes.items():
        at = f"{where}.routes.{key}"
        auth = override.auth if override.auth is not None else svc.auth
        if auth == "none" and override.scopes:
            problems.append(
                Problem(f"{at}.scopes", 'scopes are checked on a caller: they need auth "token" or "api_key"')
            )
        path = override_key(svc.path, key).split(" ", 1)[-1]
        taken = [other for other in others if path == other or path.startswith(other + "/")]
        if taken:
            problems.append(Problem(at, f"{path} is under {taken[0]}, another service's path: a route overrides only "
                                        "its own service's routes"))  # fmt: skip
        if override.auth is None and override.scopes is None and override.rate_limit is None:
            problems.append(Problem(at, "sets nothing: give auth, scopes or rate_limit (or remove the route)"))
    return problems


def _check_authorizer(stack: Stack) -> list[Problem]:
    problems: list[Problem] = []
    authorizer = stack.authorizer
    explicit = stack.api.authorizer
    if explicit is not None:
        target = stack.services.get(explicit.service)
        if target is None:
            declared = ", ".join(sorted(stack.services)) or "none"
            problems.append(
                Problem("api.authorizer.service", f"no service named {explicit.service!r} (declared: {declared})")
            )
        elif not isinstance(target, LambdaService):
            problems.append(
                Problem("api.authorizer.service", f"{explicit.service!r} is a {target.kind} service; "
                        "API Gateway authorizers are Lambda functions")
            )  # fmt: skip
        if explicit.ttl and not explicit.identity_sources:
            problems.append(
                Problem("api.authorizer.identity_sources", "caching (ttl > 0) needs at least one identity source, "
                        'e.g. ["$request.header.Authorization"] (API Gateway keys the cache on them)')
            )  # fmt: skip
    policies = {name: route_policies(name, svc) for name, svc in stack.services.items()}
    limited = sorted(name for name, routes in policies.items() if any(p.rate_limit for p in routes.values()))
    scoped = sorted(name for name, routes in policies.items() if any(p.scopes for p in routes.values()))
    if authorizer is None:
        declare = '[api] authorizer = { service = "...", handler = "..." } or a Lambda service named gateway'
        for name, svc in stack.services.items():
            if svc.auth != "none":
                problems.append(
                    Problem(f"services.{name}.auth", f"{svc.auth!r} needs an authorizer: declare {declare}")
                )
            elif any(p.guarded for p in policies[name].values()):
                problems.append(Problem(f"services.{name}", f"its protected or rate-limited routes need an authorizer: "
                                                            f"declare {declare}"))  # fmt: skip
        return problems
    if limited and not _uses_rate_limits(stack, authorizer.service):
        problems.append(
            Problem(f"services.{limited[0]}.rate_limit", f"the authorizer counts requests in a {RATE_LIMITS_TABLE} "
                    f"table: declare [tables.{RATE_LIMITS_TABLE}] (hash_key = \"limit_key\", ttl_attribute = "
                    f"\"expires_at\") and add it to services.{authorizer.service}.uses as read-write")
        )  # fmt: skip
    if authorizer.ttl:
        if limited:
            problems.append(
                Problem("api.authorizer.ttl", f"a cached decision is not counted, so the rate limits of "
                        f"{', '.join(limited)} would not hold: set ttl = 0")
            )  # fmt: skip
        per_route = "$context.routeKey" in authorizer.identity_sources
        if not per_route:
            problems += _mixed_modes(stack, policies)
        if scoped and not per_route:
            problems.append(
                Problem("api.authorizer.ttl", f"one cached decision covers every route, so the scopes of "
                        f"{', '.join(scoped)} would not hold: set ttl = 0, or add \"$context.routeKey\" to "
                        "identity_sources to cache per route")
            )  # fmt: skip
    return problems


def _mixed_modes(stack: Stack, policies: dict[str, dict[str, Policy]]) -> list[Problem]:
    """A cached decision is keyed on the identity values alone: one authorizer guarding routes of two auth modes
    would reuse a decision made for one mode on the other's routes."""
    modes: dict[str | None, dict[str, set[str]]] = {}  # authorizer key -> auth mode -> services
    for name, routes in policies.items():
        for policy in routes.values():
            if policy.auth != "none":
                modes.setdefault(authorizer_key(stack, policy), {}).setdefault(policy.auth, set()).add(name)
    mixed = next((by_mode for by_mode in modes.values() if len(by_mode) > 1), None)
    if mixed is None:
        return []
    shown = "; ".join(f"{mode}: {', '.join(sorted(names))}" for mode, names in sorted(mixed.items()))
    return [
        Problem("api.authorizer.ttl", f"one cached decision covers every route the authorizer guards, so a decision "
                f"made for one auth mode would be reused on routes of another ({shown}): set ttl = 0, or add "
                "\"$context.routeKey\" to identity_sources to cache per route")
    ]  # fmt: skip


def _uses_rate_limits(stack: Stack, service: str) -> bool:
    svc = stack.services.get(service)
    return svc is not None and any(
        resource.replace("-", "_") == RATE_LIMITS_TABLE and access == "read-write"
        for resource, access in svc.uses.items()
    )


def _check_cors(stack: Stack, envs: list[str]) -> list[Problem]:
    """A browser page on a developer's machine must not be allowed to call a deployed environment's API."""
    problems: list[Problem] = []
    for env in envs:
        config = stack.environments.get(env)
        own = config is not None and config.cors_origins is not None
        local = [origin for origin in stack.cors_origins_in(env) if _is_loopback(origin)]
        if env in DEVELOPMENT_ENVIRONMENTS or not local:
            continue
        where = f"environments.{env}.cors_origins" if own else "api.cors.allow_origins"
        hint = "" if own else f"; set environments.{env}.cors_origins to its own origins"
        problems.append(Problem(where, f"{', '.join(local)} would be allowed in environment {env}{hint}"))
    return problems


def _is_loopback(origin: str) -> bool:
    """``http://localhost:5173``, ``http://127.0.0.1``, ``http://[::1]:8080`` and the like."""
    from urllib.parse import urlsplit

    host = urlsplit(origin).hostname or ""
    return host in ("localhost", "::1") or host.endswith(".localhost") or host.startswith("127.")
