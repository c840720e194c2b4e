"""The gateway's configuration, read from the environment with the standard library only.

This module is imported by :mod:`gateway.authorizer`, whose cold import must stay small: no pydantic,
no FastAPI, no boto3 here.

Variables (all optional unless said otherwise):

- ``STRATUS_ROUTES``: JSON object, route key -> policy, for every route the authorizer guards, e.g.
  ``{"ANY /worker/{proxy+}": {"auth": "api_key"}, "POST /records": {"auth": "token", "scopes": ["records:write"]},
  "GET /records/leaderboard": {"auth": "none", "rate_limit": {"requests": 120, "period": 60, "bucket": "..."}}}``;
  generated from the manifest (:func:`stratus.manifest.routes.policies`: each service's ``auth``, ``scopes`` and
  ``rate_limit``, and its ``routes`` overrides). The authorizer denies a route it finds no entry for (fail closed).
- ``STRATUS_RATE_LIMIT``: ``"N/seconds"`` or JSON ``{"requests": N, "period": seconds}``, the policy of the
  gateway's own routes (set in the manifest's ``env`` of the gateway); default :data:`DEFAULT_RATE_LIMIT`.

The token variables (``TOKEN_SIGNING_SECRET_ARN`` or ``TOKEN_SIGNING_SECRET*``, ``TOKEN_ISSUER``,
``TOKEN_AUDIENCE``) are read by
:mod:`stratus_common.tokens`, the environment's name and the local cloud's detection by
:mod:`stratus_common.environment`. A bad variable raises
:class:`stratus_common.environment.ConfigurationError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from stratus_common.environment import ConfigurationError
from stratus_common.ratelimit import RatePolicy

T = TypeVar("T")
AuthMode = Literal["none", "api_key", "token"]
AUTH_MODES: tuple[AuthMode, ...] = ("none", "api_key", "token")

ROUTES_ENV = "STRATUS_ROUTES"
RATE_LIMIT_ENV = "STRATUS_RATE_LIMIT"

__all__ = [
    "AUTH_MODES",
    "DEFAULT_RATE_LIMIT",
    "AuthMode",
    "RatePolicy",
    "RoutePolicy",
    "RouteTable",
    "own_rate_limit",
    "route_policies",
]


DEFAULT_RATE_LIMIT = RatePolicy(requests=100, period=60)
"""The gateway's own routes, when ``STRATUS_RATE_LIMIT`` is not set: 100 requests a minute per principal."""


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


class RouteTable(Generic[T]):
    """Values by route path prefix, matched on whole segments, longest prefix first (``/`` matches all)."""

    def __init__(self, entries: Mapping[str, T]) -> None:
        self._entries = sorted(
            ((_segments(prefix.lower()), value) for prefix, value in entries.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, path: str) -> tuple[str, T] | None:
        """Return ``(prefix, value)`` of the longest prefix of *path*, or ``None``."""
        parts = _segments(path.lower())
        for prefix, value in self._entries:
            if parts[: len(prefix)] == prefix:
                return "/" + "/".join(prefix), value
        return None


def own_rate_limit(environ: Mapping[str, str] | None = None) -> RatePolicy:
    """The policy of the gateway's own routes: ``STRATUS_RATE_LIMIT``, else :data:`DEFAULT_RATE_LIMIT`."""
    environ = os.environ if environ is None else environ
    raw = environ.get(RATE_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_RATE_LIMIT
    try:
        value: object = json.loads(raw)
    except ValueError:
        value = raw  # "N/seconds"
    return RatePolicy.parse(value, RATE_LIMIT_ENV)


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """How one route is protected: its mode, the scopes a caller must hold, its rate limit and that limit's counter."""

    auth: AuthMode
    scopes: frozenset[str] = frozenset()
    rate_limit: RatePolicy | None = None
    bucket: str = ""


def _policy(route: str, value: object) -> RoutePolicy:
    where = f"{ROUTES_ENV}[{route!r}]"
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: must be an object with auth, scopes and rate_limit")
    auth = value.get("auth")
    if auth not in AUTH_MODES:
        raise ConfigurationError(f"{where}.auth: must be one of {', '.join(AUTH_MODES)}")
    scopes = value.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) and scope for scope in scopes):
        raise ConfigurationError(f"{where}.scopes: must be a list of scope names")
    limit, bucket = value.get("rate_limit"), ""
    if limit is not None:
        if not isinstance(limit, Mapping) or not isinstance(limit.get("bucket"), str) or not limit["bucket"]:
            raise ConfigurationError(f"{where}.rate_limit: must be {{requests, period, bucket}}")
        bucket = limit["bucket"]
        limit = RatePolicy.parse(
            {"requests": limit.get("requests"), "period": limit.get("period")}, f"{where}.rate_limit"
        )
    return RoutePolicy(auth, frozenset(scopes), limit, bucket)


def route_policies(environ: Mapping[str, str] | None = None) -> dict[str, RoutePolicy]:
    """The ``STRATUS_ROUTES`` table, by route key; raise :class:`ConfigurationError` naming what is wrong."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ROUTES_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{ROUTES_ENV}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{ROUTES_ENV}: must be a JSON object of route key -> policy")
    return {str(route): _policy(str(route), policy) for route, policy in value.items()}
