"""The idp's settings, read from the environment and checked when the service starts.

- ``ACCESS_TOKEN_TTL``: seconds, 60-3600, default 900; ``SESSION_TTL``: a sign-in's refresh lifetime, seconds,
  1 hour to 90 days, default 30 days (read once, at start-up).
- ``IDP_REGISTRATION``: ``open`` | ``invite`` | ``closed``; default ``open`` when ``STRATUS_ENV`` is ``local`` or
  ``dev``, else ``closed``. Anything else stops the service at start-up (:class:`ConfigurationError`).
- ``IDP_USER_SCOPES``: the scopes of a registered user, space-separated; default ``profile``.
- The rate limits: :mod:`idp.ratelimits`.

The registration mode and the user scopes are read again on each request (cheap), so tests and operators may
change them without a new process; start-up only refuses a bad value early.
"""

from __future__ import annotations

import os

from stratus_common.clients import validate_scopes
from stratus_common.environment import LOCAL_ENVIRONMENTS, environment

from idp import ratelimits
from idp.errors import ConfigurationError

__all__ = [
    "ACCESS_TOKEN_TTL",
    "REGISTRATION_MODES",
    "SESSION_TTL",
    "check_configuration",
    "registration_mode",
    "seconds",
    "user_scopes",
]

REGISTRATION_MODES = ("open", "invite", "closed")
DEFAULT_USER_SCOPES = "profile"


def seconds(variable: str, default: int, low: int, high: int) -> int:
    """The whole number of seconds in *variable* (default if unset); ``ConfigurationError`` if out of range."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{variable} must be a whole number of seconds") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{variable} must be {low}-{high} seconds (got {value})")
    return value


def registration_mode() -> str:
    """``IDP_REGISTRATION``: open, invite or closed (default: open in local/dev, closed elsewhere)."""
    raw = os.environ.get("IDP_REGISTRATION", "").strip().lower()
    if not raw:
        return "open" if environment() in LOCAL_ENVIRONMENTS else "closed"
    if raw not in REGISTRATION_MODES:
        raise ConfigurationError(f"IDP_REGISTRATION must be open, invite or closed (got {raw[:20]!r})")
    return raw


def user_scopes() -> tuple[str, ...]:
    """``IDP_USER_SCOPES``: the scopes every registered user gets (default ``profile``)."""
    raw = os.environ.get("IDP_USER_SCOPES", "").strip() or DEFAULT_USER_SCOPES
    try:
        return validate_scopes(raw.split())
    except ValueError as exc:
        raise ConfigurationError(f"IDP_USER_SCOPES: {exc}") from None


def check_configuration() -> None:
    """Read every setting once: a bad one stops the service at start-up with an error naming the variable."""
    registration_mode()
    user_scopes()
    ratelimits.check_configuration()


ACCESS_TOKEN_TTL = seconds("ACCESS_TOKEN_TTL", 900, 60, 3600)
SESSION_TTL = seconds("SESSION_TTL", 30 * 24 * 3600, 3600, 90 * 24 * 3600)
