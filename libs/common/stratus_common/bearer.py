"""Bearer access tokens in the ``Authorization`` header (RFC 6750): parsing, and the 401s of an HTTP API.

- :func:`bearer_token`: the token of ``Authorization: Bearer <token>``, or ``None``; standard library only,
  for the gateway's authorizer and rate limiter;
- :func:`authenticate`: for a FastAPI route (the gateway's ``/sessions/current``, the idp's
  ``/auth/userinfo``): the header's token, verified (:func:`stratus_common.tokens.verify_access_token`), of
  an active session (:meth:`stratus_common.sessions.SessionStore.active`); else
  :class:`~stratus_common.errors.Unauthorized` with the ``WWW-Authenticate`` challenge RFC 6750 §3 asks for.

The scheme is case-insensitive; the token is RFC 6750's ``b64token``. :mod:`stratus_common.errors` (FastAPI)
is imported only when a 401 is raised, so importing this module stays cheap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stratus_common import tokens

if TYPE_CHECKING:
    from stratus_common.errors import Unauthorized
    from stratus_common.sessions import Session, SessionStore

__all__ = ["BEARER_RE", "authenticate", "bearer_token", "invalid_token", "require_bearer_token"]

BEARER_RE = re.compile(r"^\s*[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)\s*$")
REALM = "stratus"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` if absent or malformed."""
    match = BEARER_RE.match(authorization) if authorization else None
    return match[1] if match else None


def require_bearer_token(authorization: str | None) -> str:
    """The header's Bearer token; else 401 (``invalid_request`` when a header of another form is given)."""
    from stratus_common.errors import Unauthorized

    if not authorization:
        raise Unauthorized("A Bearer access token is required", headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized(
            "The Authorization header must be: Bearer <access token>",
            code="invalid_request",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_request"'},
        )
    return token


def invalid_token(reason: str) -> Unauthorized:
    """The 401 of a token that is not valid (RFC 6750 ``invalid_token``), saying why."""
    from stratus_common.errors import Unauthorized

    return Unauthorized(
        f"The access token is not valid: {reason}",
        code="invalid_token",
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token", error_description="{reason}"'},
    )


def authenticate(authorization: str | None, sessions: SessionStore) -> tuple[dict[str, Any], Session]:
    """Return ``(claims, session)`` of the header's access token and its active session; else raise a 401."""
    try:
        claims = tokens.verify_access_token(require_bearer_token(authorization))
    except tokens.InvalidToken as exc:
        raise invalid_token(str(exc)) from None
    session = sessions.active(claims["sid"], claims["sub"])
    if session is None:
        raise invalid_token("the session has ended")
    return claims, session
