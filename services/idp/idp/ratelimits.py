"""Rate limits of sign-in and registration, counted in the ``rate_limits`` table BEFORE any argon2 work.

The counting is the gateway's limiter, :class:`stratus_common.ratelimit.RateLimiter` (fixed windows, one
conditional ``UpdateItem`` per check). The limits (``"N/seconds"``, read from the environment on each request and
checked at start-up):

=====================================  ==========  =====================================================
variable                               default     counts
=====================================  ==========  =====================================================
``IDP_SIGNIN_RATE_LIMIT_IP``           ``30/60``   ``POST /auth/token`` (password and client_credentials
                                                   grants) per source IP
``IDP_SIGNIN_RATE_LIMIT_USERNAME``     ``10/300``  the password grant per canonical username (unknown ones
                                                   too), client_credentials per client id
``IDP_REGISTER_RATE_LIMIT_IP``         ``10/3600`` ``POST /auth/register`` per source IP
=====================================  ==========  =====================================================

Usernames and client ids are counted under their SHA-256 (``username:<hex>``), never as typed: people type
passwords into the username field. The source IP is API Gateway's ``requestContext.http.sourceIp`` (Mangum hands
the event over as ``scope["aws.event"]``), else the socket's peer. Past a limit, :class:`Limited` (the caller
answers 429 with ``Retry-After`` and ``X-RateLimit-*``); when the table cannot be reached, :class:`Unavailable`
(503 with ``Retry-After``): sign-in fails closed, it is never let through uncounted.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from starlette.requests import Request
from stratus_common.aws import client
from stratus_common.aws_errors import error_code, is_aws_error
from stratus_common.logging import get_logger
from stratus_common.ratelimit import Decision, RateLimiter, RatePolicy
from stratus_common.settings import table_name

__all__ = [
    "DEFAULTS",
    "REGISTER_IP",
    "SIGNIN_IP",
    "SIGNIN_USERNAME",
    "Limited",
    "Unavailable",
    "check",
    "check_configuration",
    "hashed",
    "policy",
    "source_ip",
]

SIGNIN_IP = "IDP_SIGNIN_RATE_LIMIT_IP"
SIGNIN_USERNAME = "IDP_SIGNIN_RATE_LIMIT_USERNAME"
REGISTER_IP = "IDP_REGISTER_RATE_LIMIT_IP"
DEFAULTS = {SIGNIN_IP: "30/60", SIGNIN_USERNAME: "10/300", REGISTER_IP: "10/3600"}
RETRY_AFTER_UNAVAILABLE = 5

logger = get_logger("idp")


class Limited(Exception):
    """Over a limit: ``decision`` says until when."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limited")
        self.decision = decision


class Unavailable(Exception):
    """The rate_limits table could not count the request."""

    retry_after = RETRY_AFTER_UNAVAILABLE


def policy(variable: str) -> RatePolicy:
    """The limit set by *variable* (``"N/seconds"``), else its default; raise ``ConfigurationError`` naming it."""
    raw = os.environ.get(variable, "").strip() or DEFAULTS[variable]
    return RatePolicy.parse(raw, variable)


def check_configuration() -> None:
    """Parse every limit (at start-up: a malformed one stops the service with an error naming the variable)."""
    for variable in DEFAULTS:
        policy(variable)


def hashed(value: str) -> str:
    """How a username or client id appears in the rate_limits table: its SHA-256, hex, first 32 digits."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def source_ip(request: Request) -> str:
    """The caller's IP: the API Gateway event's ``requestContext.http.sourceIp``, else the socket's peer."""
    event: Any = request.scope.get("aws.event")
    if isinstance(event, dict):
        http = (event.get("requestContext") or {}).get("http") or {}
        source = http.get("sourceIp") if isinstance(http, dict) else None
        if isinstance(source, str) and source:
            return source
    return request.client.host if request.client else "unknown"


def get_limiter() -> RateLimiter:
    """The rate_limits table (``RATE_LIMITS_TABLE_NAME``)."""
    return RateLimiter(client("dynamodb"), table_name("rate_limits"))


def check(route: str, *counts: tuple[str, str]) -> None:
    """Count the request against each ``(principal, limit variable)`` of *counts*, in order, on *route*; stop at
    the first that is over its limit (raise :class:`Limited`). Raise :class:`Unavailable` if the table fails."""
    try:
        limiter = get_limiter()
        for principal, variable in counts:
            decision = limiter.hit(route, principal, policy(variable))
            if not decision.allowed:
                logger.info("Rate limit exceeded", extra={"route": route, "limit": principal.split(":", 1)[0]})
                raise Limited(decision)
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        logger.warning("Rate limits table unavailable", extra={"route": route, "error_code": error_code(exc)})
        raise Unavailable from None
