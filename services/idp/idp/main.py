"""The identity provider's HTTP API: ``idp.main.handler`` (Lambda, routed at ``/auth``) or ``idp.main:app``.

- ``POST /auth/token``: OAuth 2.0 token endpoint (RFC 6749), form-encoded (as the RFC says) or JSON:
  ``grant_type=password`` (``username``, ``password``, optional ``scope``) -> ``access_token``,
  ``token_type`` ``Bearer``, ``expires_in``, ``refresh_token``, ``scope``;
  ``grant_type=client_credentials`` (client authentication by HTTP Basic or ``client_id`` +
  ``client_secret``) -> an access token, no refresh token; ``grant_type=refresh_token`` = ``/auth/refresh``.
  Rate-limited per source IP and per username / client id (:mod:`idp.ratelimits`): 429 with ``Retry-After``.
- ``POST /auth/refresh``: ``refresh_token`` -> new access and refresh tokens (rotation; reuse of a rotated
  token revokes the session: :mod:`idp.sessions`).
- ``GET /auth/userinfo``: the claims of a valid Bearer access token of an active session; else 401 with
  ``WWW-Authenticate: Bearer ...`` (``error="invalid_token"`` when a token was given, RFC 6750 §3).
- ``POST /auth/register``: ``{"username", "password", "invite"?}`` (JSON) -> 201 ``{"sub", "username", "scopes"}``;
  who may register is ``IDP_REGISTRATION`` (open / invite / closed): :mod:`idp.registration`.
- ``GET /auth/.well-known/jwks.json``: ``{"keys": []}`` (HS256: the key is never published; see
  :mod:`stratus_common.tokens`); ``GET /auth/.well-known/oauth-authorization-server``: RFC 8414 metadata.
- ``/auth/health``, ``/auth/liveness``, ``/auth/readiness`` (ready when the four tables answer).

Errors of the token and refresh endpoints are RFC 6749 §5.2's ``{"error", "error_description"}`` (what OAuth
clients parse: :mod:`idp.oauth`); the other endpoints answer the stack's ``{"error": {"code", "message",
"details"}}``. A body over :data:`MAX_BODY_BYTES` is refused with 413, a wrong Content-Type with 415. An AWS failure
is a 503 with ``Retry-After``, never a 500 with AWS's text. Settings: :mod:`idp.config`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from stratus_common import bearer, tokens
from stratus_common.app import add_readiness_check, create_app
from stratus_common.lambda_handler import make_handler

from idp import config, grants, openapi, ratelimits, registration
from idp.errors import ConfigurationError, OAuthError
from idp.oauth import (
    BodyLimitMiddleware,
    client_credentials,
    oauth_error_response,
    oauth_errors,
    oauth_params,
    required,
    token_response,
)
from idp.stores import get_accounts, get_refresh_tokens, get_sessions

__all__ = [
    "MAX_BODY_BYTES",
    "ConfigurationError",
    "app",
    "get_accounts",
    "get_refresh_tokens",
    "get_sessions",
    "handler",
]

MAX_BODY_BYTES = 16 * 1024

# Start-up: refuse to start without a token key source (no network: the secret is read on first use), or with a
# malformed setting (registration mode, user scopes, rate limits).
tokens.check_configuration()
config.check_configuration()
ACCESS_TOKEN_TTL = config.ACCESS_TOKEN_TTL
SESSION_TTL = config.SESSION_TTL
_INVALID_LOGIN = grants.INVALID_LOGIN

app = create_app(
    "Identity provider",
    service="idp",
    description="OAuth 2.0 tokens (password, client credentials, refresh with rotation), userinfo, registration. "
    "The token endpoints answer errors as RFC 6749 §5.2 says ({error, error_description}); the others as the stack "
    "does ({error: {code, message, details}}).",
    max_body_bytes=MAX_BODY_BYTES,
)
app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)  # outermost: 413 in the OAuth shape on /token
_generate_openapi = app.openapi


def _openapi() -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = openapi.document(_generate_openapi(), models=(registration.RegisterRequest,))
    return app.openapi_schema


app.openapi = _openapi  # type: ignore[method-assign]


@app.exception_handler(OAuthError)
async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    return oauth_error_response(exc)


add_readiness_check(app, "accounts_table", lambda: get_accounts().ping())
add_readiness_check(app, "sessions_table", lambda: get_sessions().ping())
add_readiness_check(app, "refresh_tokens_table", lambda: get_refresh_tokens().ping())
add_readiness_check(app, "rate_limits_table", lambda: ratelimits.get_limiter().ping())


@app.post(
    "/token",
    tags=["oauth"],
    response_model=None,
    openapi_extra=openapi.token_request_body(),
    responses=openapi.oauth_responses(rate_limited=True),
)
async def token(request: Request) -> JSONResponse:
    """The OAuth 2.0 token endpoint: password, client_credentials and refresh_token grants."""
    params = await oauth_params(request)
    grant_type = required(params, "grant_type", max_length=64)
    source_ip = ratelimits.source_ip(request)
    with oauth_errors():
        if grant_type == "password":
            body = await run_in_threadpool(grants.password_grant, params, source_ip)
        elif grant_type == "client_credentials":
            client = client_credentials(request, params)
            body = await run_in_threadpool(grants.client_credentials_grant, client, params, source_ip)
        elif grant_type == "refresh_token":
            body = await run_in_threadpool(grants.refresh_grant, params)
        else:
            raise OAuthError(
                400, "unsupported_grant_type", "The grant_type must be password, client_credentials or refresh_token"
            )
    return token_response(body)


@app.post(
    "/refresh",
    tags=["oauth"],
    response_model=None,
    openapi_extra=openapi.refresh_request_body(),
    responses=openapi.oauth_responses(rate_limited=False),
)
async def refresh(request: Request) -> JSONResponse:
    """Exchange a refresh token for new access and refresh tokens (the old one stops working)."""
    params = await oauth_params(request)
    with oauth_errors():
        body = await run_in_threadpool(grants.refresh_grant, params)
    return token_response(body)


def _bearer_claims(request: Request) -> dict[str, Any]:
    """The claims of the request's access token, of an active session; else 401 (503 if the table fails)."""
    with registration.unavailable_on_aws_error():
        claims, _ = bearer.authenticate(request.headers.get("authorization"), get_sessions())
    return claims


@app.get(
    "/userinfo",
    tags=["oauth"],
    openapi_extra={"security": [{"oauth2": []}]},
    responses=openapi.error_answers(401, 503),
)
def userinfo(claims: Annotated[dict[str, Any], Depends(_bearer_claims)]) -> dict[str, Any]:
    """The claims of the caller's access token."""
    keep = ("sub", "kind", "preferred_username", "client_id", "scope", "sid", "iss", "iat", "exp")
    return {name: claims[name] for name in keep if name in claims}


@app.post(
    "/register",
    status_code=201,
    tags=["accounts"],
    response_model=registration.RegisteredUser,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisterRequest"}}},
        }
    },
    responses=openapi.error_answers(400, 403, 409, 413, 415, 422, 429, 503),
)
async def register(request: Request) -> dict[str, Any]:
    """Create a user account, as ``IDP_REGISTRATION`` allows (open, invite or closed)."""
    return await registration.register(request, ratelimits.source_ip(request))


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
