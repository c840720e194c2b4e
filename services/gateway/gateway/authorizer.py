"""The route authorizer: an API Gateway HTTP API Lambda REQUEST authorizer, payload 2.0, simple responses.

``gateway.authorizer.handler`` is what protects every ``auth = "api_key"`` or ``auth = "token"`` route,
attached by ``stratus infra`` in AWS and called the same way by the local cloud's HTTP API emulator.

It sits on the cold path of every protected request, so this module imports only the standard library and
light modules (:mod:`gateway.config`, :mod:`stratus_common.tokens`, :mod:`stratus_common.bearer`): no FastAPI,
no pydantic; boto3 and PyJWT are imported on first use.

**Input** (the authorizer event, payload format 2.0; only these fields are read):

- ``routeKey`` (else ``requestContext.routeKey``): the matched route, e.g. ``"ANY /worker/{proxy+}"``;
- ``headers``: ``authorization`` (``Bearer <access token>``) for token routes, ``x-api-key`` for API-key
  routes (names case-insensitive);
- ``requestContext.http.sourceIp`` and ``requestContext.requestId`` (rate limiting, logs).

**How the policy is chosen**: ``STRATUS_ROUTES`` maps route keys to policies (generated from the manifest: a
mode, the scopes a caller must hold, a rate limit). The event's ``routeKey`` is the route API Gateway has already
matched, so client path tricks (``/worker/../auth``, ``%2e%2e``, ``//worker``, case) cannot change it. A route
key without an entry, or no route key at all: denied (fail closed). The credentials never choose the mode.
A caller without every scope the route requires is denied (``insufficient_scope``).

**Output** (simple response): ``{"isAuthorized": true, "context": {...}}`` or ``{"isAuthorized": false}``.
The context reaches the integration as ``requestContext.authorizer.lambda``:

- token: ``principalId`` (``user:<sub>`` / ``client:<client id>``), ``kind`` (``user``/``client``),
  ``subject``, ``scopes`` (list), ``authMode`` = ``"token"``, and ``username`` or ``clientId``;
- API key: ``principalId`` (``key:<key id>``), ``kind`` = ``"api_key"``, ``keyId``, ``keyName``,
  ``scopes``, ``authMode`` = ``"api_key"``;
- anonymous (a rate-limited route of auth ``none``): ``principalId`` ``ip:<sourceIp>``, ``kind`` ``anonymous``;
- plus ``rateLimit`` ``{"limit", "remaining", "reset"}`` when the route has a rate limit. Past the limit the
  request is denied: a Lambda authorizer can only allow or deny, so API Gateway answers 403, not 429.

A DynamoDB or Secrets Manager failure raises (API Gateway answers 500), it never allows.

**Environment**: ``STRATUS_ROUTES`` (required), ``API_KEYS_TABLE_NAME`` (API-key routes),
``SESSIONS_TABLE_NAME`` and the token signing key (token routes: ``TOKEN_SIGNING_SECRET_ARN``, from the manifest's
``[secrets.token-signing]``, read on the first token and re-read after its TTL; see :mod:`stratus_common.tokens`),
``RATE_LIMITS_TABLE_NAME`` (routes with a rate limit), ``TOKEN_ISSUER`` /
``TOKEN_AUDIENCE`` (optional), and the usual ``AWS_REGION`` / ``AWS_ENDPOINT_URL``.

**Caching**: a token route must be configured with ``authorizerResultTtlInSeconds = 0`` (or revocation
waits for the TTL); an API-key route may cache (a revoked key then works until the TTL ends).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus_common import tokens
from stratus_common.bearer import bearer_token
from stratus_common.environment import ConfigurationError

from gateway import config

__all__ = ["AuthResult", "authorize", "check_api_key", "check_token", "handler", "policy_for", "reset"]

_STORES: dict[str, Any] = {}
logger = logging.getLogger("gateway.authorizer")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper() or "INFO")
if not logging.getLogger().handlers and not logger.handlers:  # outside Lambda's runtime: still log somewhere
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)


@dataclass(frozen=True)
class AuthResult:
    """The decision, with why (for logs and tests; only ``allowed`` and ``context`` reach API Gateway)."""

    allowed: bool
    reason: str
    mode: str = ""
    route: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def response(self) -> dict[str, Any]:
        """The simple response API Gateway expects."""
        if self.allowed:
            return {"isAuthorized": True, "context": self.context}
        return {"isAuthorized": False}


@functools.lru_cache(maxsize=1)
def _policies() -> dict[str, config.RoutePolicy]:
    return config.route_policies()


def reset() -> None:
    """Forget the parsed configuration, clients and keys (tests that change the environment call this)."""
    from stratus_common.aws import reset_clients

    _policies.cache_clear()
    _STORES.clear()
    tokens.reset_keys()
    reset_clients()


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def route_key(event: Mapping[str, Any]) -> str | None:
    """The route API Gateway matched: ``routeKey``, else ``requestContext.routeKey``."""
    key = event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey")
    return key if isinstance(key, str) else None


def policy_for(event: Mapping[str, Any]) -> tuple[str, config.RoutePolicy | None]:
    """Return ``(route key, policy)`` for the event; policy ``None`` means: deny (no entry for the route)."""
    key = route_key(event)
    if key is None:
        return "", None
    return key, _policies().get(key)


def _store(kind: str) -> Any:
    """The session store, API key table or rate limiter, made on first use (boto3 is imported then)."""
    stores = _STORES
    if kind not in stores:
        from stratus_common.aws import FAST_CONFIG, client

        dynamodb = client("dynamodb", config=FAST_CONFIG)  # short timeouts: API Gateway waits for the decision
        if kind == "sessions":
            from stratus_common.sessions import SessionStore

            stores[kind] = SessionStore(dynamodb, _table("SESSIONS_TABLE_NAME"))
        elif kind == "api_keys":
            stores[kind] = (dynamodb, _table("API_KEYS_TABLE_NAME"))
        else:
            from stratus_common.ratelimit import RateLimiter

            stores[kind] = RateLimiter(dynamodb, _table("RATE_LIMITS_TABLE_NAME"))
    return stores[kind]


def _table(variable: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigurationError(f"{variable} is not set: list the table in the gateway's `uses` in stratus.toml")
    return value


def check_token(headers: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return ``(reason, context)``; an empty context means denied."""
    authorization = _header(headers, "authorization")
    if not authorization:
        return "missing_credentials", {}
    token = bearer_token(authorization)
    if token is None:
        return "malformed_credentials", {}
    try:
        claims = tokens.verify_access_token(token)
    except tokens.InvalidToken as exc:
        return f"invalid_token: {exc}", {}
    session = _store("sessions").active(claims["sid"], claims["sub"])
    if session is None:
        return "session_inactive", {}
    kind = "client" if claims.get("kind") == "client" else "user"
    context: dict[str, Any] = {
        "principalId": f"client:{claims.get('client_id')}" if kind == "client" else f"user:{claims['sub']}",
        "kind": kind,
        "subject": claims["sub"],
        "scopes": str(claims.get("scope") or "").split(),
        "authMode": "token",
    }
    if kind == "client":
        context["clientId"] = str(claims.get("client_id") or "")
    elif claims.get("preferred_username"):
        context["username"] = str(claims["preferred_username"])
    return "ok", context


def check_api_key(headers: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from stratus_common.apikeys import verify_api_key

    presented = _header(headers, "x-api-key")
    if not presented:
        return "missing_credentials", {}
    dynamodb, table_name = _store("api_keys")
    key = verify_api_key(dynamodb, table_name, presented.strip())
    if key is None:
        return "invalid_api_key", {}
    return "ok", {
        "principalId": f"key:{key.key_id}",
        "kind": "api_key",
        "keyId": key.key_id,
        "keyName": key.name,
        "scopes": list(key.scopes),
        "authMode": "api_key",
    }


def _apply_rate_limit(policy: config.RoutePolicy, context: dict[str, Any]) -> str | None:
    """Count the request against the route's rate limit, if it has one; return a denial reason or ``None``."""
    if policy.rate_limit is None:
        return None
    try:
        decision = _store("rate_limits").hit(policy.bucket, context["principalId"], policy.rate_limit)
    except Exception as exc:  # fail open: losing the limiter must not take every protected route down
        logger.warning(json.dumps({"message": "rate limiter unavailable", "error": type(exc).__name__}))
        return None
    context["rateLimit"] = {"limit": decision.limit, "remaining": decision.remaining, "reset": decision.reset}
    return None if decision.allowed else "rate_limited"


def authorize(event: Mapping[str, Any]) -> AuthResult:
    """Decide on one authorizer event (see the module's docstring)."""
    route, policy = policy_for(event)
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        headers = {}
    if policy is None:
        return AuthResult(False, "no_auth_policy_for_route", "", route)
    mode = policy.auth
    if mode == "token":
        reason, context = check_token(headers)
    elif mode == "api_key":
        reason, context = check_api_key(headers)
    else:
        source_ip = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "unknown"
        reason, context = "ok", {"principalId": f"ip:{source_ip}", "kind": "anonymous", "authMode": "none"}
    if not context:
        return AuthResult(False, reason, mode, route)
    if not policy.scopes <= set(context.get("scopes") or ()):
        return AuthResult(False, "insufficient_scope", mode, route)
    limited = _apply_rate_limit(policy, context)
    if limited:
        return AuthResult(False, limited, mode, route)
    return AuthResult(True, "ok", mode, route, context)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: an authorizer event in, a simple response out."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    try:
        result = authorize(event)
    except Exception as exc:
        logger.error(json.dumps({"message": "authorizer failed", "error": type(exc).__name__, "requestId": request_id}))
        raise
    record: dict[str, Any] = {
        "message": "authorizer decision",
        "decision": "allow" if result.allowed else "deny",
        "reason": result.reason,
        "mode": result.mode,
        "route": result.route,
        "requestId": request_id,
    }
    if result.allowed:
        record["principalId"] = result.context.get("principalId")
    logger.info(json.dumps(record))
    return result.response()


# The start-up check: an explicit key must be usable. A TOKEN_SIGNING_SECRET_ARN is read on the first token route
# (API-key routes never need it), so the import makes no network call.
if os.environ.get(tokens.SECRET_ENV):
    tokens.check_configuration()
