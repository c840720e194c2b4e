"""The identity provider's HTTP API: ``idp.main.handler`` (Lambda, routed at ``/auth``) or ``idp.main:app``.

- ``POST /auth/token``: OAuth 2.0 token endpoint (RFC 6749), form-encoded (as the RFC says) or JSON:
  ``grant_type=password`` (``username``, ``password``, optional ``scope``) -> ``access_token``,
  ``token_type`` ``Bearer``, ``expires_in``, ``refresh_token``, ``scope``;
  ``grant_type=client_credentials`` (client authentication by HTTP Basic or ``client_id`` +
  ``client_secret``) -> an access token, no refresh token; ``grant_type=refresh_token`` = ``/auth/refresh``.
- ``POST /auth/refresh``: ``refresh_token`` -> new access and refresh tokens (rotation; reuse of a rotated
  token revokes the session: :mod:`idp.sessions`).
- ``GET /auth/userinfo``: the claims of a valid Bearer access token of an active session; else 401 with
  ``WWW-Authenticate: Bearer ...`` (``error="invalid_token"`` when a token was given, RFC 6750 §3).
- ``POST /auth/register``: ``{"username", "password"}`` (JSON) -> 201 ``{"sub", "username", "scopes"}``;
  ``IDP_REGISTRATION=closed`` turns it off (403).
- ``GET /auth/.well-known/jwks.json``: ``{"keys": []}`` (HS256: the key is never published; see
  :mod:`stratus_common.tokens`); ``GET /auth/.well-known/oauth-authorization-server``: RFC 8414 metadata.
- ``/auth/health``, ``/auth/liveness``, ``/auth/readiness`` (ready when the three tables answer).

Errors of the token and refresh endpoints are RFC 6749 §5.2's ``{"error", "error_description"}`` (what OAuth
clients parse); the other endpoints answer the stack's ``{"error": {"code", "message", "details"}}``. A body
over :data:`MAX_BODY_BYTES` is refused with 413, a wrong Content-Type with 415.

Settings: ``ACCESS_TOKEN_TTL`` (seconds, default 900), ``SESSION_TTL`` (a login's refresh lifetime, default
30 days), ``IDP_REGISTRATION`` (``open``/``closed``), the token signing key (``TOKEN_SIGNING_SECRET_ARN``, the
manifest's ``[secrets.token-signing]``: :mod:`stratus_common.tokens`), and the tables
``ACCOUNTS_TABLE_NAME``, ``SESSIONS_TABLE_NAME``, ``REFRESH_TOKENS_TABLE_NAME``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from stratus_common import bearer, tokens
from stratus_common.app import add_readiness_check, create_app
from stratus_common.aws import client
from stratus_common.errors import ApiError, Conflict, Forbidden, error_body
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.settings import table_name

from idp import seed
from idp.accounts import MAX_PASSWORD, AccountExists, AccountStore, validate_password, validate_username
from idp.errors import ConfigurationError, OAuthError
from idp.sessions import RefreshError, RefreshTokens, SessionStore

__all__ = ["MAX_BODY_BYTES", "app", "handler"]

MAX_BODY_BYTES = 16 * 1024
_BASIC_RE = re.compile(r"^\s*[Bb][Aa][Ss][Ii][Cc] +([A-Za-z0-9+/]+=*)\s*$")
_TOKEN_PATHS = ("/token", "/refresh")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_INVALID_LOGIN = "Invalid username or password, or the account is temporarily locked after repeated failures"


def _seconds(variable: str, default: int, low: int, high: int) -> int:
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


# Start-up: refuse to start without a token key source. No network: TOKEN_SIGNING_SECRET_ARN is read on first use.
tokens.check_configuration()
ACCESS_TOKEN_TTL = _seconds("ACCESS_TOKEN_TTL", 900, 60, 3600)
SESSION_TTL = _seconds("SESSION_TTL", 30 * 24 * 3600, 3600, 90 * 24 * 3600)

logger = get_logger("idp")
app = create_app(
    "Identity provider",
    service="idp",
    description="OAuth 2.0 tokens (password, client credentials, refresh with rotation), userinfo, registration.",
)


# ------------------------------------------------------------------------------------------- plumbing


class BodyLimitMiddleware:
    """Refuse request bodies over *max_bytes* with 413: by Content-Length, or by reading (and replaying) the body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _reject(self, scope: Scope) -> JSONResponse:
        path = str(scope.get("path", ""))
        message = f"The request body must be at most {self.max_bytes} bytes"
        if path.endswith(_TOKEN_PATHS):
            return JSONResponse({"error": "invalid_request", "error_description": message}, 413, headers=_NO_STORE)
        return JSONResponse(error_body("payload_too_large", message), status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(scope)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                first: Message = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, replay, send)


app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)


@app.exception_handler(OAuthError)
async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers={**_NO_STORE, **exc.headers},
    )


def get_accounts() -> AccountStore:
    """The accounts table (``ACCOUNTS_TABLE_NAME``)."""
    return AccountStore(client("dynamodb"), table_name("accounts"))


def get_sessions() -> SessionStore:
    """The sessions table (``SESSIONS_TABLE_NAME``)."""
    return SessionStore(client("dynamodb"), table_name("sessions"))


def get_refresh_tokens() -> RefreshTokens:
    """The refresh_tokens table (``REFRESH_TOKENS_TABLE_NAME``) with the sessions table."""
    return RefreshTokens(client("dynamodb"), table_name("refresh_tokens"), get_sessions())


add_readiness_check(app, "accounts_table", lambda: get_accounts().ping())
add_readiness_check(app, "sessions_table", lambda: get_sessions().ping())
add_readiness_check(app, "refresh_tokens_table", lambda: get_refresh_tokens().ping())


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _oauth_params(request: Request) -> dict[str, str]:
    """The request's parameters, form-encoded (RFC 6749) or JSON; unknown ones are ignored (RFC 6749 §3.2)."""
    media_type = _media_type(request)
    body = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=32)
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", "The body is not valid UTF-8") from None
        except ValueError:
            raise OAuthError(400, "invalid_request", "The body has too many parameters") from None
        params: dict[str, str] = {}
        for name, value in pairs:
            if name in params:
                raise OAuthError(400, "invalid_request", f"The parameter {name} is given more than once")
            params[name] = value
        return params
    if media_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            raise OAuthError(400, "invalid_request", f"The body is not valid JSON{where}") from None
        if not isinstance(data, dict):
            raise OAuthError(400, "invalid_request", "The body must be a JSON object")
        out: dict[str, str] = {}
        for name, value in data.items():
            if value is None:
                continue
            if not isinstance(value, str):
                raise OAuthError(400, "invalid_request", f"The parameter {name} must be a string")
            out[name] = value
        return out
    raise OAuthError(
        415, "invalid_request", "Content-Type must be application/x-www-form-urlencoded or application/json"
    )


def _required(params: dict[str, str], name: str, *, max_length: int = 1024) -> str:
    value = params.get(name, "")
    if not value:  # RFC 6749 §3.1: a parameter without a value is treated as omitted
        raise OAuthError(400, "invalid_request", f"The parameter {name} is required")
    if len(value) > max_length:
        raise OAuthError(400, "invalid_request", f"The parameter {name} is too long (at most {max_length})")
    return value


def _granted_scope(params: dict[str, str], allowed: tuple[str, ...]) -> str:
    requested = params.get("scope", "").split()
    if not requested:
        return " ".join(allowed)
    if len(requested) > 32 or not set(requested) <= set(allowed):
        raise OAuthError(400, "invalid_scope", "The parameter scope asks for scopes this account does not have")
    return " ".join(dict.fromkeys(requested))


def _token_response(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers=_NO_STORE)


# ------------------------------------------------------------------------------------------- grants


def _password_grant(params: dict[str, str]) -> dict[str, Any]:
    username = _required(params, "username", max_length=256)
    password = _required(params, "password", max_length=MAX_PASSWORD * 4)
    seed.ensure_demo(get_accounts)
    user = get_accounts().authenticate(username, password)
    if user is None:
        logger.info("Login refused", extra={"grant_type": "password"})
        raise OAuthError(400, "invalid_grant", _INVALID_LOGIN)
    scope = _granted_scope(params, user.scopes)
    session = get_sessions().create(
        subject=user.subject, kind="user", scope=scope, lifetime=SESSION_TTL, username=user.username
    )
    refresh_token = get_refresh_tokens().issue(session)
    access_token = tokens.issue_access_token(
        subject=user.subject,
        session_id=session.session_id,
        kind="user",
        scope=scope,
        ttl=ACCESS_TOKEN_TTL,
        username=user.username,
    )
    logger.info("Login", extra={"grant_type": "password", "subject": user.subject})
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL,
        "refresh_token": refresh_token,
        "scope": scope,
    }


def _client_credentials(request: Request, params: dict[str, str]) -> tuple[str, str, bool]:
    """``(client_id, client_secret, by_basic)`` from HTTP Basic or the body (not both: RFC 6749 §2.3)."""
    authorization = request.headers.get("authorization")
    in_body = "client_id" in params or "client_secret" in params
    if authorization:
        match = _BASIC_RE.match(authorization)
        if not match:
            raise OAuthError(
                401, "invalid_client", "Use HTTP Basic client authentication", headers={"WWW-Authenticate": "Basic"}
            )
        if in_body:
            raise OAuthError(400, "invalid_request", "Authenticate the client one way: HTTP Basic or the body")
        try:
            decoded = base64.b64decode(match[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(
                401, "invalid_client", "Malformed HTTP Basic credentials", headers={"WWW-Authenticate": "Basic"}
            ) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep or not client_id or not secret:
            raise OAuthError(
                401, "invalid_client", "Malformed HTTP Basic credentials", headers={"WWW-Authenticate": "Basic"}
            )
        return unquote(client_id), unquote(secret), True  # RFC 6749 §2.3.1: form-encoded, then Basic
    return _required(params, "client_id", max_length=64), _required(params, "client_secret", max_length=256), False


def _client_credentials_grant(request: Request, params: dict[str, str]) -> dict[str, Any]:
    client_id, secret, by_basic = _client_credentials(request, params)
    seed.ensure_demo(get_accounts)
    found = get_accounts().authenticate_client(client_id, secret)
    if found is None:
        logger.info("Client authentication refused", extra={"grant_type": "client_credentials"})
        raise OAuthError(
            401,
            "invalid_client",
            "Client authentication failed",
            headers={"WWW-Authenticate": 'Basic realm="stratus"'} if by_basic else {},
        )
    scope = _granted_scope(params, found.scopes)
    session = get_sessions().create(
        subject=found.client_id, kind="client", scope=scope, lifetime=ACCESS_TOKEN_TTL, client_id=found.client_id
    )
    access_token = tokens.issue_access_token(
        subject=found.client_id,
        session_id=session.session_id,
        kind="client",
        scope=scope,
        ttl=ACCESS_TOKEN_TTL,
        client_id=found.client_id,
    )
    logger.info("Client token", extra={"grant_type": "client_credentials", "client": found.client_id})
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL, "scope": scope}


def _refresh_grant(params: dict[str, str]) -> dict[str, Any]:
    presented = _required(params, "refresh_token", max_length=128)
    try:
        rotated = get_refresh_tokens().rotate(presented)
    except RefreshError as exc:
        if exc.reason == "reused":
            logger.warning("Refresh token reuse detected: the session is revoked", extra={"grant_type": "refresh"})
        else:
            logger.info("Refresh refused", extra={"reason": exc.reason})
        raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or revoked") from None
    session = rotated.session
    scope = _granted_scope(params, tuple(session.scope.split()))
    access_token = tokens.issue_access_token(
        subject=session.subject,
        session_id=session.session_id,
        kind=session.kind,
        scope=scope,
        ttl=ACCESS_TOKEN_TTL,
        username=session.username,
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL,
        "refresh_token": rotated.refresh_token,
        "scope": scope,
    }


# ------------------------------------------------------------------------------------------- routes


@app.post("/token", tags=["oauth"], response_model=None)
async def token(request: Request) -> JSONResponse:
    """The OAuth 2.0 token endpoint: password, client_credentials and refresh_token grants."""
    params = await _oauth_params(request)
    grant_type = _required(params, "grant_type", max_length=64)
    if grant_type == "password":
        body = await run_in_threadpool(_password_grant, params)
    elif grant_type == "client_credentials":
        body = await run_in_threadpool(_client_credentials_grant, request, params)
    elif grant_type == "refresh_token":
        body = await run_in_threadpool(_refresh_grant, params)
    else:
        raise OAuthError(
            400, "unsupported_grant_type", "The grant_type must be password, client_credentials or refresh_token"
        )
    return _token_response(body)


@app.post("/refresh", tags=["oauth"], response_model=None)
async def refresh(request: Request) -> JSONResponse:
    """Exchange a refresh token for new access and refresh tokens (the old one stops working)."""
    params = await _oauth_params(request)
    return _token_response(await run_in_threadpool(_refresh_grant, params))


def _bearer_claims(request: Request) -> dict[str, Any]:
    """The claims of the request's access token, of an active session; else 401."""
    claims, _ = bearer.authenticate(request.headers.get("authorization"), get_sessions())
    return claims


@app.get("/userinfo", tags=["oauth"])
def userinfo(claims: Annotated[dict[str, Any], Depends(_bearer_claims)]) -> dict[str, Any]:
    """The claims of the caller's access token."""
    keep = ("sub", "kind", "preferred_username", "client_id", "scope", "sid", "iss", "iat", "exp")
    return {name: claims[name] for name in keep if name in claims}


class RegisterRequest(BaseModel):
    """The body of ``POST /auth/register``."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64, description="3-32 lowercase letters, digits, '.', '_', '-'")
    password: str = Field(max_length=MAX_PASSWORD, description=f"12-{MAX_PASSWORD} characters")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return validate_username(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return validate_password(value)


@app.post("/register", status_code=201, tags=["accounts"])
async def register(request: Request) -> dict[str, Any]:
    """Create a user account (``IDP_REGISTRATION=closed`` refuses)."""
    if os.environ.get("IDP_REGISTRATION", "open").strip().lower() == "closed":
        raise Forbidden("Registration is closed")
    if _media_type(request) != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    try:
        data = json.loads(await request.body())
    except ValueError as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, "invalid_json", f"Request body is not valid JSON{where}") from None
    try:
        body = RegisterRequest.model_validate(data)
        validate_password(body.password, body.username)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("body", "password"), "msg": f"Value error, {exc}", "type": "value_error"}]
        ) from None
    await run_in_threadpool(seed.ensure_demo, get_accounts)
    try:
        user = await run_in_threadpool(get_accounts().create_user, body.username, body.password)
    except AccountExists:
        raise Conflict("The username is taken", details=[{"field": "body.username", "message": "taken"}]) from None
    logger.info("Registered", extra={"subject": user.subject})
    return {"sub": user.subject, "username": user.username, "scopes": list(user.scopes)}


@app.get("/.well-known/jwks.json", tags=["oauth"])
def jwks() -> JSONResponse:
    """The public keys that verify the tokens: none, as the tokens are HS256 (see the README)."""
    return JSONResponse({"keys": []}, headers={"Cache-Control": "public, max-age=300"})


@app.get("/.well-known/oauth-authorization-server", tags=["oauth"])
def metadata(request: Request) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    host = request.headers.get("host", "localhost")
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    base = f"{proto}://{host}{request.scope.get('root_path', '')}"
    return {
        "issuer": tokens.issuer(),
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "registration_endpoint": f"{base}/register",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["password", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
    }


handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0)."""
