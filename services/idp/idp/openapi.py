"""What the idp's OpenAPI document says beyond what FastAPI infers: the token endpoint's bodies and answers.

``/auth/token`` and ``/auth/refresh`` read their parameters themselves (form-encoded as RFC 6749 says, or JSON), so
their request bodies are declared here, for both media types, one schema per grant (``grant_type`` is the
discriminator), with the rules the service enforces (required parameters, lengths). Their errors are RFC 6749's
``{"error", "error_description"}`` (:class:`OAuthErrorBody`). The ``oauth2`` security scheme names the token
endpoint (``tokenUrl``), which is also how clients and fuzzers know that it grants credentials.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from stratus_common.errors import ErrorResponse

from idp.passwords import MAX_PASSWORD

__all__ = [
    "OAuthErrorBody",
    "TokenAnswer",
    "document",
    "oauth_responses",
    "refresh_request_body",
    "token_request_body",
]

_SCHEMAS = "#/components/schemas/"
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
_RATE_HEADERS = {
    **_RETRY_AFTER,
    "X-RateLimit-Limit": {"description": "Requests allowed in the window", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window ends (epoch seconds)", "schema": {"type": "integer"}},
}


def _string(min_length: int, max_length: int, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "minLength": min_length, "maxLength": max_length}
    if description:
        out["description"] = description
    return out


_SCOPE = {"type": "string", "description": "Space-separated scopes, within the account's (default: all of them)"}


def _grant(
    title: str, description: str, grant_type: str | None, required: dict[str, Any], optional: dict[str, Any]
) -> dict[str, Any]:
    """A request body's schema; unknown parameters are allowed, and ignored (RFC 6749 §3.2)."""
    properties = dict(required)
    if grant_type is not None:
        properties = {"grant_type": {"type": "string", "enum": [grant_type]}, **properties}
    return {
        "title": title,
        "description": description,
        "type": "object",
        "properties": {**properties, **optional, "scope": _SCOPE},
        "required": list(properties),
        "additionalProperties": True,
    }


_REQUESTS: dict[str, dict[str, Any]] = {
    "PasswordGrant": _grant(
        "PasswordGrant",
        "grant_type=password (RFC 6749 §4.3)",
        "password",
        {"username": _string(1, 256), "password": _string(1, MAX_PASSWORD * 4)},
        {},
    ),
    "ClientCredentialsGrant": _grant(
        "ClientCredentialsGrant",
        "grant_type=client_credentials (RFC 6749 §4.4): the client authenticates with HTTP Basic, or with client_id "
        "and client_secret in the body (both of them; not both ways at once)",
        "client_credentials",
        {},
        {"client_id": _string(1, 64), "client_secret": _string(1, 256)},
    ),
    "RefreshTokenGrant": _grant(
        "RefreshTokenGrant",
        "grant_type=refresh_token (RFC 6749 §6)",
        "refresh_token",
        {"refresh_token": _string(1, 128)},
        {},
    ),
    "RefreshRequest": _grant("RefreshRequest", "The body of /refresh", None, {"refresh_token": _string(1, 128)}, {}),
}


class TokenAnswer(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str | None = Field(default=None, description="Not for client_credentials (RFC 6749 §4.4.3)")
    scope: str


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2: the token endpoint's errors (not the stack's ``{"error": {...}}``)."""

    error: str = Field(
        description="invalid_request, invalid_client, invalid_grant, invalid_scope, unsupported_grant_type, "
        "too_many_requests, temporarily_unavailable"
    )
    error_description: str


_MODELS: tuple[type[BaseModel], ...] = (TokenAnswer, OAuthErrorBody)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        },
    }


def token_request_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /token``: one schema per grant type."""
    grants = {"password": "PasswordGrant", "client_credentials": "ClientCredentialsGrant"}
    grants["refresh_token"] = "RefreshTokenGrant"  # noqa: S105 - a schema name
    schema = {
        "oneOf": [{"$ref": _SCHEMAS + name} for name in grants.values()],
        "discriminator": {"propertyName": "grant_type", "mapping": {k: _SCHEMAS + v for k, v in grants.items()}},
    }
    return {"requestBody": _body(schema)}


def refresh_request_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /refresh``."""
    return {"requestBody": _body({"$ref": _SCHEMAS + "RefreshRequest"})}


def _oauth_error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "model": OAuthErrorBody}
    if headers:
        answer["headers"] = headers
    return answer


def oauth_responses(*, rate_limited: bool) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of the token endpoints."""
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": "Tokens (never cached)", "model": TokenAnswer},
        400: _oauth_error(
            "invalid_request, invalid_grant (one answer for a wrong password, an unknown user and a "
            "locked account), invalid_scope, unsupported_grant_type"
        ),
        413: _oauth_error("invalid_request: the body is over 16 KiB"),
        415: _oauth_error("invalid_request: the Content-Type is not form-encoded or JSON"),
        503: _oauth_error("temporarily_unavailable: a table or the signing key cannot be reached", _RETRY_AFTER),
    }
    if rate_limited:  # the token endpoint: client authentication and the sign-in limits
        out[401] = _oauth_error("invalid_client: client authentication failed (WWW-Authenticate with HTTP Basic)")
        out[429] = _oauth_error("too_many_requests: over a sign-in limit (per source IP, per username)", _RATE_HEADERS)
    return out


def error_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The stack's error answers, with the headers of 429 and 503."""
    headers = {429: _RATE_HEADERS, 503: _RETRY_AFTER}
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answer: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        if status in headers:
            answer["headers"] = headers[status]
        out[status] = answer
    return out


_DESCRIPTIONS = {
    400: "invalid_json: the body is not valid JSON",
    401: "No token, or a bad, expired or revoked one (WWW-Authenticate: Bearer, RFC 6750 §3)",
    403: "registration_closed, or invalid_invite (missing, unknown, used or expired; checked before the username)",
    409: "conflict: the username is taken",
    413: "payload_too_large: the body is over 16 KiB",
    415: "unsupported_media_type: the body must be application/json",
    422: "validation_error: details name the field (the value is never echoed)",
    429: "too_many_requests: over the per-IP registration limit",
    503: "service_unavailable: a table cannot be reached",
}


def document(schema: dict[str, Any], *, models: tuple[type[BaseModel], ...] = ()) -> dict[str, Any]:
    """Add the token endpoint's schemas, *models* (bodies read by hand) and the ``oauth2`` scheme to *schema*."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (*_MODELS, *models):
        definition = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
        for name, nested in definition.pop("$defs", {}).items():
            schemas.setdefault(name, nested)
        schemas[model.__name__] = definition
    schemas.update(_REQUESTS)
    components.setdefault("securitySchemes", {}).update(
        {
            "oauth2": {
                "type": "oauth2",
                "description": "Tokens from this service's token endpoint",
                "flows": {
                    "password": {"tokenUrl": "token", "refreshUrl": "refresh", "scopes": {}},
                    "clientCredentials": {"tokenUrl": "token", "scopes": {}},
                },
            },
        }
    )
    return schema
