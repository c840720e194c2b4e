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
- ``TOKEN_ISSUER`` / ``TOKEN_AUDIENCE``: the ``iss`` / ``aud`` of access tokens; by default derived
  from ``STRATUS_PROJECT`` and ``STRATUS_ENV`` so that the idp and the gateway agree without configuration.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import unquote, urlsplit

T = TypeVar("T")
AuthMode = Literal["none", "api_key", "token"]
AUTH_MODES: tuple[AuthMode, ...] = ("none", "api_key", "token")

ROUTE_AUTH_ENV = "STRATUS_ROUTE_AUTH"
RATE_LIMITS_ENV = "STRATUS_RATE_LIMITS"
RATE_LIMIT_ENV = "STRATUS_RATE_LIMIT"
LOCAL_ENVIRONMENTS = frozenset({"local", "dev"})

__all__ = [
    "AUTH_MODES",
    "DEFAULT_RATE_LIMIT",
    "AuthMode",
    "ConfigError",
    "RatePolicy",
    "RouteTable",
    "environment",
    "in_local_cloud",
    "normalise_path",
    "own_rate_limit",
    "project",
    "route_auth",
    "route_rate_limits",
    "token_audience",
    "token_issuer",
]


class ConfigError(RuntimeError):
    """A variable the gateway needs is missing or invalid."""


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """At most ``requests`` per ``period`` seconds (fixed windows aligned on multiples of ``period``)."""

    requests: int
    period: int

    @classmethod
    def parse(cls, value: object, where: str) -> RatePolicy:
        """Read ``{"requests": N, "period": S}`` or ``"N/S"``; raise :class:`ConfigError` naming *where*."""
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", value):
            requests_text, period_text = value.split("/")
            value = {"requests": int(requests_text), "period": int(period_text)}
        if not isinstance(value, Mapping):
            raise ConfigError(f'{where}: must be {{"requests": N, "period": seconds}} or "N/seconds"')
        requests, period = value.get("requests"), value.get("period")
        if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
            raise ConfigError(f"{where}.requests: must be a whole number >= 1")
        if not isinstance(period, int) or isinstance(period, bool) or not 1 <= period <= 86400:
            raise ConfigError(f"{where}.period: must be a whole number of seconds, 1-86400")
        return cls(requests, period)


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
        raise ConfigError(f"{variable}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{variable}: must be a JSON object of route prefix -> value")
    for prefix in value:
        if not prefix.startswith("/"):
            raise ConfigError(f"{variable}: route prefix {prefix!r} must start with '/'")
    return value


def route_auth(environ: Mapping[str, str] | None = None) -> RouteTable[AuthMode]:
    """The ``STRATUS_ROUTE_AUTH`` table; raise :class:`ConfigError` on an unknown mode."""
    environ = os.environ if environ is None else environ
    entries: dict[str, AuthMode] = {}
    for prefix, mode in _json_object(ROUTE_AUTH_ENV, environ).items():
        if mode not in AUTH_MODES:
            raise ConfigError(f"{ROUTE_AUTH_ENV}: {prefix!r}: mode must be one of {', '.join(AUTH_MODES)}")
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


def environment(environ: Mapping[str, str] | None = None) -> str:
    """``STRATUS_ENV``, else ``ENVIRONMENT``, else ``"local"`` (as :mod:`stratus_common.settings` reads it)."""
    environ = os.environ if environ is None else environ
    return (environ.get("STRATUS_ENV") or environ.get("ENVIRONMENT") or "local").strip() or "local"


def project(environ: Mapping[str, str] | None = None) -> str:
    """``STRATUS_PROJECT``, else ``"stratus"``."""
    environ = os.environ if environ is None else environ
    return (environ.get("STRATUS_PROJECT") or "stratus").strip() or "stratus"


def token_issuer(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_ISSUER``, else ``urn:stratus:<project>:<env>:idp``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_ISSUER", "").strip() or f"urn:stratus:{project(environ)}:{environment(environ)}:idp"


def token_audience(environ: Mapping[str, str] | None = None) -> str:
    """``TOKEN_AUDIENCE``, else ``urn:stratus:<project>:<env>:api``."""
    environ = os.environ if environ is None else environ
    return environ.get("TOKEN_AUDIENCE", "").strip() or f"urn:stratus:{project(environ)}:{environment(environ)}:api"


def in_local_cloud(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs in the local cloud (``stratus dev``), not in AWS.

    True only when the environment is ``local`` or ``dev`` AND the AWS endpoint is a loopback address
    (the local cloud points ``AWS_ENDPOINT_URL`` at its embedded moto server; a Lambda in AWS has no
    such variable). Both are needed: ``dev`` is also the name of a real AWS environment.
    """
    environ = os.environ if environ is None else environ
    if environment(environ) not in LOCAL_ENVIRONMENTS:
        return False
    endpoint = environ.get("AWS_ENDPOINT_URL", "").strip()
    if not endpoint:
        return False
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
