"""The HTTP API's routes, their protection and their authorizers, as both the local cloud and the Terraform declare
them.

A service on ``/p`` gets ``ANY /p`` and ``ANY /p/{proxy+}``; a service on ``/`` gets ``$default``. Each of its
``routes`` overrides adds (or, for the same key, replaces) a route ``METHOD /p/<path>``, which API Gateway prefers
over the service's greedy route for the requests it matches.

Every route has a :class:`Policy`: its auth mode, the scopes a caller must hold, and its rate limit — the route's
own where it overrides them, else its service's. A route is guarded by an authorizer when its mode is not ``none``
or it has a rate limit (an anonymous, rate-limited route gets the ``anonymous`` authorizer, which reads no identity
source and counts callers by source IP). With CORS configured, each guarded ``ANY`` route also gets an ``OPTIONS``
route without the authorizer, because browsers send preflights without credentials (the anonymous authorizer
reads no credentials, so its routes need none; ``$default`` gets none, as ``OPTIONS /{proxy+}`` would take every
other service's preflights).

Authorizers: the manifest's one when it names identity sources, else one per auth mode in use, each reading that
mode's identity source, plus ``anonymous`` when needed. The authorizer function learns each guarded route's policy
from :func:`policies` (by route key, the value API Gateway puts in the authorizer event's ``routeKey``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus import naming
from stratus.manifest.schema import LambdaService, RateLimit

if TYPE_CHECKING:
    from stratus.manifest.schema import Service
    from stratus.manifest.stack import Stack

DEFAULT_ROUTE_KEY = "$default"
# The request value each auth mode is decided by, when [api] authorizer names no identity sources.
MODE_IDENTITY_SOURCES: dict[str, tuple[str, ...]] = {
    "api_key": ("$request.header.x-api-key",),
    "token": ("$request.header.Authorization",),
}
DEFAULT_AUTHORIZER_KEY = "default"
ANONYMOUS_AUTHORIZER_KEY = "anonymous"  # rate-limited routes of auth "none": no identity source, never cached


@dataclass(frozen=True, slots=True)
class Policy:
    """How a route is protected. ``bucket`` names the rate-limit counter: the service's routes share their
    service's, an override with its own limit has its own."""

    auth: str = "none"
    scopes: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    bucket: str = ""

    @property
    def guarded(self) -> bool:
        """Whether an authorizer decides on the route's requests."""
        return self.auth != "none" or self.rate_limit is not None

    def for_authorizer(self) -> dict[str, object]:
        """What the authorizer function reads for the route (``STRATUS_ROUTES``)."""
        out: dict[str, object] = {"auth": self.auth}
        if self.scopes:
            out["scopes"] = list(self.scopes)
        if self.rate_limit is not None:
            out["rate_limit"] = {**self.rate_limit.model_dump(), "bucket": self.bucket}
        return out


@dataclass(frozen=True, slots=True)
class Route:
    """``key`` is ``$default`` or ``METHOD /path`` (``{name}`` and ``{name+}`` segments allowed)."""

    key: str
    target: str  # the service the route integrates with
    authorizer: str | None = None  # a key of ``plan.authorizers``; None: no authorization
    policy: Policy = Policy()

    @property
    def greedy(self) -> bool:
        """Whether the route takes the rest of the path (``{proxy+}``, or ``$default``)."""
        return self.key == DEFAULT_ROUTE_KEY or self.key.endswith("+}")


@dataclass(frozen=True, slots=True)
class Authorizer:
    """A Lambda REQUEST authorizer (payload 2.0, simple responses)."""

    key: str
    service: str
    function: str  # its function's key in ``service``
    function_name: str
    identity_sources: tuple[str, ...]
    ttl: int


def route_keys(path: str, method: str = "ANY") -> list[str]:
    """The route keys of a service mounted at ``path``: ``/`` is ``$default``, ``/worker`` is ``ANY /worker``
    and ``ANY /worker/{proxy+}``; another method gives ``METHOD /`` and ``METHOD /{proxy+}`` for ``/``."""
    if not path.startswith("/") or (path != "/" and path.endswith("/")) or "{" in path or "}" in path:
        raise ValueError(f"service path {path!r}: must start with '/', not end with '/', and hold no '{{' or '}}'")
    if path == "/":
        return [DEFAULT_ROUTE_KEY] if method == "ANY" else [f"{method} /", f"{method} /{{proxy+}}"]
    return [f"{method} {path}", f"{method} {path}/{{proxy+}}"]


def override_key(service_path: str, key: str) -> str:
    """The API's route key of a service's override: ``("/records", "GET /leaderboard")`` ->
    ``GET /records/leaderboard``; ``"ANY /"`` of a service on ``/`` is ``$default``."""
    method, path = key.split(" ", 1)
    if service_path == "/":
        return DEFAULT_ROUTE_KEY if (method, path) == ("ANY", "/") else key
    return f"{method} {service_path}{'' if path == '/' else path}"


def service_policy(name: str, svc: Service) -> Policy:
    """The policy of a service's own routes."""
    return Policy(svc.auth, tuple(svc.scopes), svc.rate_limit, f"service:{name}" if svc.rate_limit else "")


def route_policies(name: str, svc: Service) -> dict[str, Policy]:
    """Every route key of service ``name`` with its policy, the service's routes first, then its overrides."""
    base = service_policy(name, svc)
    out = dict.fromkeys(route_keys(svc.path), base)
    for key, override in svc.routes.items():
        full = override_key(svc.path, key)
        auth = override.auth if override.auth is not None else base.auth
        scopes = tuple(override.scopes) if override.scopes is not None else base.scopes
        if auth == "none":
            scopes = ()
        limit, bucket = (
            (override.rate_limit, f"route:{full}") if override.rate_limit else (base.rate_limit, base.bucket)
        )
        out[full] = Policy(auth, scopes, limit, bucket if limit is not None else "")
    return out


def authorizer_key(stack: Stack, policy: Policy) -> str | None:
    """Which authorizer guards routes of ``policy``: none, the anonymous one, the manifest's only one, or its mode's."""
    if not policy.guarded:
        return None
    if policy.auth == "none":
        return ANONYMOUS_AUTHORIZER_KEY
    authorizer = stack.authorizer
    return DEFAULT_AUTHORIZER_KEY if authorizer is not None and authorizer.identity_sources else policy.auth


def routes(stack: Stack) -> list[Route]:
    """Every route of the API, by service path."""
    out: list[Route] = []
    for name in sorted(stack.services, key=lambda n: (stack.services[n].path, n)):
        for key, policy in route_policies(name, stack.services[name]).items():
            guard = authorizer_key(stack, policy)
            out.append(Route(key, name, guard, policy))
            if policy.auth != "none" and stack.api.cors is not None and key.startswith("ANY "):
                out.append(Route("OPTIONS " + key.removeprefix("ANY "), name))
    return out


def policies(stack: Stack) -> dict[str, dict[str, object]]:
    """Route key -> policy of every guarded route: what the authorizer function decides by."""
    return {route.key: route.policy.for_authorizer() for route in routes(stack) if route.authorizer is not None}


def authorizers(stack: Stack) -> dict[str, Authorizer]:
    """The API's authorizers, by key: ``default`` when the manifest names identity sources, else one per auth
    mode in use; ``anonymous`` when a route of auth ``none`` has a rate limit."""
    config = stack.authorizer
    used = {route.authorizer for route in routes(stack)} - {None}
    if config is None or not used or not isinstance(stack.services.get(config.service), LambdaService):
        return {}
    function_name = stack.resource_name(naming.suffixed(config.service, "authorizer"))

    def authorizer(key: str, sources: tuple[str, ...], ttl: int) -> Authorizer:
        return Authorizer(key, config.service, "authorizer", function_name, sources, ttl)

    out: dict[str, Authorizer] = {}
    for key in sorted(k for k in used if k is not None):
        if key == ANONYMOUS_AUTHORIZER_KEY:
            out[key] = authorizer(key, (), 0)
        elif key == DEFAULT_AUTHORIZER_KEY:
            out[key] = authorizer(key, tuple(config.identity_sources), config.ttl)
        else:
            out[key] = authorizer(key, MODE_IDENTITY_SOURCES[key], config.ttl)
    return out
