"""The grants of ``POST /auth/token``: password, client_credentials and refresh_token (RFC 6749 §4.3, §4.4, §6).

Each runs in a worker thread (argon2 and boto3 block). The password and client_credentials grants count the
request against the rate limits (:mod:`idp.ratelimits`: per source IP, then per username or client id) before any
password or secret is looked at. The refresh grant validates the requested ``scope`` before the refresh token is
rotated, so a bad scope does not use up the token.
"""

from __future__ import annotations

from typing import Any

from stratus_common import tokens
from stratus_common.logging import get_logger
from stratus_common.sessions import Session

from idp import ratelimits, seed, stores
from idp.config import ACCESS_TOKEN_TTL, SESSION_TTL
from idp.errors import OAuthError
from idp.oauth import granted_scope, required
from idp.passwords import MAX_PASSWORD
from idp.sessions import RefreshError

__all__ = ["INVALID_LOGIN", "TOKEN_ROUTE", "client_credentials_grant", "password_grant", "refresh_grant"]

INVALID_LOGIN = "Invalid username or password, or the account is temporarily locked after repeated failures"
TOKEN_ROUTE = "/auth/token"  # noqa: S105 - a path
logger = get_logger("idp")


def _tokens(session: Session, scope: str, refresh_token: str | None) -> dict[str, Any]:
    access_token = tokens.issue_access_token(
        subject=session.subject,
        session_id=session.session_id,
        kind=session.kind,
        scope=scope,
        ttl=ACCESS_TOKEN_TTL,
        username=session.username,
        client_id=session.client_id,
    )
    body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL}
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["scope"] = scope
    return body


def password_grant(params: dict[str, str], source_ip: str) -> dict[str, Any]:
    """``grant_type=password``: ``username``, ``password``, optional ``scope``."""
    username = required(params, "username", max_length=256)
    password = required(params, "password", max_length=MAX_PASSWORD * 4)
    canonical = username.strip().lower()
    ratelimits.check(
        TOKEN_ROUTE,
        (f"ip:{source_ip}", ratelimits.SIGNIN_IP),
        (f"username:{ratelimits.hashed(canonical)}", ratelimits.SIGNIN_USERNAME),
    )
    seed.ensure_demo(stores.get_accounts)
    user = stores.get_accounts().authenticate(canonical, password)
    if user is None:
        logger.info("Login refused", extra={"grant_type": "password"})
        raise OAuthError(400, "invalid_grant", INVALID_LOGIN)
    scope = granted_scope(params, user.scopes)
    session = stores.get_sessions().create(
        subject=user.subject, kind="user", scope=scope, lifetime=SESSION_TTL, username=user.username
    )
    refresh_token = stores.get_refresh_tokens().issue(session)
    logger.info("Login", extra={"grant_type": "password", "subject": user.subject})
    return _tokens(session, scope, refresh_token)


def client_credentials_grant(client: tuple[str, str, bool], params: dict[str, str], source_ip: str) -> dict[str, Any]:
    """``grant_type=client_credentials``: *client* is ``(client_id, secret, by_basic)``, optional ``scope``."""
    client_id, secret, by_basic = client
    ratelimits.check(
        TOKEN_ROUTE,
        (f"ip:{source_ip}", ratelimits.SIGNIN_IP),
        (f"client:{ratelimits.hashed(client_id.lower())}", ratelimits.SIGNIN_USERNAME),
    )
    seed.ensure_demo(stores.get_accounts)
    found = stores.get_accounts().authenticate_client(client_id, secret)
    if found is None:
        logger.info("Client authentication refused", extra={"grant_type": "client_credentials"})
        raise OAuthError(
            401,
            "invalid_client",
            "Client authentication failed",
            headers={"WWW-Authenticate": 'Basic realm="stratus"'} if by_basic else {},
        )
    scope = granted_scope(params, found.scopes)
    session = stores.get_sessions().create(
        subject=found.client_id, kind="client", scope=scope, lifetime=ACCESS_TOKEN_TTL, client_id=found.client_id
    )
    logger.info("Client token", extra={"grant_type": "client_credentials", "client": found.client_id})
    return _tokens(session, scope, None)


def refresh_grant(params: dict[str, str]) -> dict[str, Any]:
    """``grant_type=refresh_token`` (and ``/auth/refresh``): ``refresh_token``, optional ``scope``."""
    presented = required(params, "refresh_token", max_length=128)
    granted: list[str] = []

    def check_scope(session: Session) -> None:  # before the rotation: a bad scope keeps the token usable
        granted.append(granted_scope(params, tuple(session.scope.split())))

    try:
        rotated = stores.get_refresh_tokens().rotate(presented, before=check_scope)
    except RefreshError as exc:
        if exc.reason == "reused":
            logger.warning("Refresh token reuse detected: the session is revoked", extra={"grant_type": "refresh"})
        else:
            logger.info("Refresh refused", extra={"reason": exc.reason})
        raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or revoked") from None
    return _tokens(rotated.session, granted[0], rotated.refresh_token)
