"""The gateway's configuration, read from the environment with the standard library only.

This module is imported by :mod:`gateway.authorizer`, whose cold import must stay small: no pydantic,
no FastAPI, no boto3 here.

Variables (all optional unless said otherwise):

- ``STRATUS_ROUTE_AUTH``: JSON object, route path prefix -> ``"none" | "api_key" | "token"``, e.g.
  ``{"/worker": "api_key", "/players": "token", "/": "none"}``; generated from the manifest's
  ``services.*.path`` / ``services.*.auth`` (:meth:`stratus.manifest.Stack.route_auth`). The authorizer
  denies a route it finds no entry for (fail closed).
- ``STRATUS_RATE_LIMITS``: JSON object, route path prefix -> ``{"requests": N, "period": seconds}``
  (:meth:`stratus.manifest.Stack.route_rate_limits`); the authorizer applies the policy of a protected route.
- ``STRATUS_RATE_LIMIT``: JSON ``{"requests": N, "period": seconds}``, the policy of the gateway's own
  routes (its manifest ``rate_limit``); default :data:`DEFAULT_RATE_LIMIT`.

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
from typing import Generic, Literal, TypeVar
from urllib.parse import unquote

from stratus_common.environment import ConfigurationError
from stratus_common.ratelimit import RatePolicy

T = TypeVar("T")
AuthMode = Literal["none", "api_key", "token"]
AUTH_MODES: tuple[AuthMode, ...] = ("none", "api_key", "token")

ROUTE_AUTH_ENV = "STRATUS_ROUTE_AUTH"
RATE_LIMITS_ENV = "STRATUS_RATE_LIMITS"
RATE_LIMIT_ENV = "STRATUS_RATE_LIMIT"

__all__ = [
    "AUTH_MODES",
    "DEFAULT_RATE_LIMIT",
    "AuthMode",
    "RatePolicy",
    "RouteTable",
    "normalise_path",
    "own_rate_limit",
    "route_auth",
    "route_rate_limits",
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


def _json_object(variable: str, environ: Mapping[str, str]) -> dict[str, object]:
    raw = environ.get(variable, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{variable}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{variable}: must be a JSON object of route prefix -> value")
    for prefix in value:
        if not prefix.startswith("/"):
            raise ConfigurationError(f"{variable}: route prefix {prefix!r} must start with '/'")
    return value


def route_auth(environ: Mapping[str, str] | None = None) -> RouteTable[AuthMode]:
    """The ``STRATUS_ROUTE_AUTH`` table; raise :class:`ConfigurationError` on an unknown mode."""
    environ = os.environ if environ is None else environ
    entries: dict[str, AuthMode] = {}
    for prefix, mode in _json_object(ROUTE_AUTH_ENV, environ).items():
        if mode not in AUTH_MODES:
            raise ConfigurationError(f"{ROUTE_AUTH_ENV}: {prefix!r}: mode must be one of {', '.join(AUTH_MODES)}")
        entries[prefix] = mode
    return RouteTable(entries)


def route_rate_limits(environ: Mapping[str, str] | None = None) -> RouteTable[RatePolicy]:
    """The ``STRATUS_RATE_LIMITS`` table."""
    environ = os.environ if environ is None else environ
    raw = _json_object(RATE_LIMITS_ENV, environ)
    return RouteTable({prefix: RatePolicy.parse(value, f"{RATE_LIMITS_ENV}.{prefix}") for prefix, value in raw.items()})


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


def normalise_path(raw_path: str) -> str | None:
    """Return *raw_path* percent-decoded, with ``//`` collapsed and ``.``/``..`` resolved; ``None`` if it escapes ``/``.

    Backslashes count as slashes (some servers treat them so). Used to decide a route's auth mode from a
    path when the event carries no specific route key.
    """
    decoded = raw_path
    for _ in range(3):  # double-encoding: %252e -> %2e -> .
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    parts: list[str] = []
    for part in decoded.replace("\\", "/").split("/"):
        stripped = part.rstrip(". ") if part not in (".", "..") else part
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(stripped or part)
    return "/" + "/".join(parts)
