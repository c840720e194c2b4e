"""The token endpoint's plumbing: its parameters, client authentication, its RFC 6749 errors and the body bound.

``/auth/token`` and ``/auth/refresh`` answer errors as RFC 6749 §5.2 says, ``{"error", "error_description"}``
(what OAuth client libraries parse), with ``Cache-Control: no-store``: the deliberate exception to the stack's
``{"error": {"code", "message", "details"}}``. Besides RFC 6749's codes they use ``too_many_requests`` (429) and
``temporarily_unavailable`` (503), each with ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from stratus_common import body_limit
from stratus_common.aws_errors import error_code, is_aws_error
from stratus_common.logging import get_logger

from idp import ratelimits
from idp.errors import OAuthError

__all__ = [
    "NO_STORE",
    "BodyLimitMiddleware",
    "client_credentials",
    "granted_scope",
    "media_type",
    "oauth_errors",
    "oauth_params",
    "required",
    "token_response",
]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BASIC_RE = re.compile(r"^\s*[Bb][Aa][Ss][Ii][Cc] +([A-Za-z0-9+/]+=*)\s*$")
_TOKEN_PATHS = ("/token", "/refresh")
logger = get_logger("idp")


class BodyLimitMiddleware(body_limit.BodyLimitMiddleware):
    """The stack's bound on request bodies, answering its 413 in the token endpoint's error shape on its paths."""

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not str(scope.get("path", "")).endswith(_TOKEN_PATHS):
            await super()._refuse(scope, receive, send)
            return
        message = f"The request body must be at most {self.max_bytes} bytes"
        response = JSONResponse({"error": "invalid_request", "error_description": message}, 413, headers=NO_STORE)
        await response(scope, receive, send)


def oauth_error_response(exc: OAuthError) -> JSONResponse:
    """The RFC 6749 §5.2 answer of *exc*."""
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers={**NO_STORE, **exc.headers},
    )


@contextmanager
def oauth_errors() -> Iterator[None]:
    """Inside the token endpoint: rate limits -> 429 ``too_many_requests``; an AWS failure (a table, the signing
    key) -> 503 ``temporarily_unavailable``; both with ``Retry-After``. The cause is logged without a trace."""
    try:
        yield
    except ratelimits.Limited as exc:
        raise OAuthError(
            429, "too_many_requests", "Too many sign-in attempts; retry later", headers=exc.decision.headers()
        ) from None
    except ratelimits.Unavailable as exc:
        raise OAuthError(
            503, "temporarily_unavailable", "Try again later", headers={"Retry-After": str(exc.retry_after)}
        ) from None
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        logger.warning("AWS unavailable", extra={"error_code": error_code(exc) or type(exc).__name__})
        raise OAuthError(503, "temporarily_unavailable", "Try again later", headers={"Retry-After": "1"}) from None


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
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


def _json(body: bytes) -> dict[str, str]:
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


async def oauth_params(request: Request) -> dict[str, str]:
    """The request's parameters, form-encoded (RFC 6749) or JSON; unknown ones are ignored (RFC 6749 §3.2)."""
    kind = media_type(request)
    if kind == "application/x-www-form-urlencoded":
        return _form(await request.body())
    if kind == "application/json":
        return _json(await request.body())
    raise OAuthError(
        415, "invalid_request", "Content-Type must be application/x-www-form-urlencoded or application/json"
    )


def required(params: dict[str, str], name: str, *, max_length: int = 1024) -> str:
    """The parameter *name*; 400 ``invalid_request`` if it is missing, empty or longer than *max_length*."""
    value = params.get(name, "")
    if not value:  # RFC 6749 §3.1: a parameter without a value is treated as omitted
        raise OAuthError(400, "invalid_request", f"The parameter {name} is required")
    if len(value) > max_length:
        raise OAuthError(400, "invalid_request", f"The parameter {name} is too long (at most {max_length})")
    return value


def granted_scope(params: dict[str, str], allowed: tuple[str, ...]) -> str:
    """The scope to grant: the requested one if it is within *allowed*, all of *allowed* if none is requested."""
    requested = params.get("scope", "").split()
    if not requested:
        return " ".join(allowed)
    if len(requested) > 32 or not set(requested) <= set(allowed):
        raise OAuthError(400, "invalid_scope", "The parameter scope asks for scopes this account does not have")
    return " ".join(dict.fromkeys(requested))


def _basic_error(description: str) -> OAuthError:
    return OAuthError(401, "invalid_client", description, headers={"WWW-Authenticate": "Basic"})


def client_credentials(request: Request, params: dict[str, str]) -> tuple[str, str, bool]:
    """``(client_id, client_secret, by_basic)`` from HTTP Basic or the body (not both: RFC 6749 §2.3)."""
    authorization = request.headers.get("authorization")
    in_body = "client_id" in params or "client_secret" in params
    if authorization:
        match = _BASIC_RE.match(authorization)
        if not match:
            raise _basic_error("Use HTTP Basic client authentication")
        if in_body:
            raise OAuthError(400, "invalid_request", "Authenticate the client one way: HTTP Basic or the body")
        try:
            decoded = base64.b64decode(match[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _basic_error("Malformed HTTP Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep or not client_id or not secret:
            raise _basic_error("Malformed HTTP Basic credentials")
        client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 §2.3.1: form-encoded, then Basic
        if len(client_id) > 64 or len(secret) > 256:
            raise _basic_error("Malformed HTTP Basic credentials")
        return client_id, secret, True
    return required(params, "client_id", max_length=64), required(params, "client_secret", max_length=256), False


def token_response(body: dict[str, Any]) -> JSONResponse:
    """A successful token answer, never cached."""
    return JSONResponse(body, headers=NO_STORE)
