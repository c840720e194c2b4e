"""The gateway's HTTP API: ``gateway.main.handler`` (Lambda, routed at ``/``) or ``gateway.main:app`` (ASGI).

- ``GET /health``: ``{"status": "healthy", "environment", "version", ...}``; ``GET /health/live``:
  ``{"status": "alive"}``; ``GET /health/ready``: ``{"status": "ready", "checks": {...}}`` when the
  sessions, rate_limits and api_keys tables answer, else 503 naming the failing checks (also served as
  ``/liveness`` and ``/readiness``, the stack's standard probes). A check's outcome is ``ok``, ``unavailable``
  or ``timed out``; why it failed (the error's class and AWS code) is logged, never answered
  (:func:`stratus_common.app.run_readiness_checks`);
- ``GET /sessions/current``: the caller's session (Bearer access token);
  ``DELETE /sessions/current``: log out, i.e. revoke it: every token of the session is refused from then on;
  401 without a valid token, 503 when the sessions table does not answer;
- every other path: an upstream route (:mod:`gateway.proxy`); else, a path of the gateway's own with another
  method is a 405 with ``Allow``, and anything else a JSON 404.

``/docs``, ``/redoc`` and ``/openapi.json`` are served in the ``local`` and ``dev`` environments only
(:func:`stratus_common.app.public_docs`). The OpenAPI document states every status the routes answer.

Every request but the probes is rate-limited (:mod:`stratus_common.ratelimit`) per principal: the authorizer's
principal when API Gateway ran one for the route, else the subject of a correctly signed Bearer token,
else the source IP. Answers carry ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``; past the limit,
429 with ``Retry-After``. When the rate_limits table cannot be reached the request is let through (fail
open) and a warning logged.

The route authorizer is the separate, light :mod:`gateway.authorizer`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from stratus_common import apikeys, bearer, tokens
from stratus_common.app import (
    PROBES_TAG,
    CheckOutcome,
    add_readiness_check,
    create_app,
    failure_detail,
    run_readiness_checks,
)
from stratus_common.aws import client
from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.environment import ConfigurationError
from stratus_common.errors import (
    ApiError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    allowed_methods,
    error_body,
    error_responses,
)
from stratus_common.lambda_handler import make_handler
from stratus_common.logging import get_logger
from stratus_common.ratelimit import Decision, RateLimiter
from stratus_common.secrets import SecretUnavailable
from stratus_common.sessions import Session, SessionStore
from stratus_common.settings import table_name

from gateway import config, proxy

if TYPE_CHECKING:
    import httpx  # made by the first upstream request (proxy.forward imports it): not on a cold start

__all__ = ["app", "handler", "own_policy", "reset", "upstreams"]

READINESS_TIMEOUT = 3.0
_UNLIMITED_PREFIXES = ("/health", "/liveness", "/readiness")


@functools.cache
def upstreams() -> config.RouteTable[proxy.Upstream]:
    """The upstream routes (``UPSTREAM_*``), read once."""
    return proxy.load_upstreams()


@functools.cache
def own_policy() -> config.RatePolicy:
    """The rate-limit policy of the gateway's own routes (``STRATUS_RATE_LIMIT``), read once."""
    return config.own_rate_limit()


@functools.cache
def http_client() -> httpx.Client:
    """The HTTP client of the upstream routes (connections are reused across invocations)."""
    import httpx

    return httpx.Client(follow_redirects=False, trust_env=False)


def reset() -> None:
    """Forget the configuration read from the environment, and close the upstream connections (tests)."""
    upstreams.cache_clear()
    own_policy.cache_clear()
    tokens.reset_keys()
    if http_client.cache_info().currsize:
        http_client().close()
    http_client.cache_clear()


# The start-up checks: refuse to start without a token key source or with a bad upstream or rate-limit variable.
# No network: a TOKEN_SIGNING_SECRET_ARN is read on the first token, so /health never waits for Secrets Manager.
tokens.check_configuration()
upstreams()
own_policy()

logger = get_logger("gateway")
app = create_app(
    "Gateway",
    service="gateway",
    description="Health, sessions, rate limiting and upstream routes; its authorizer protects the stack's routes.",
    max_body_bytes=None,  # a proxy: the upstream decides, and the HTTP API already stops bodies over 10 MB
    documented_errors=(429,),  # every route but the probes is rate-limited
)


def get_sessions() -> SessionStore:
    """The sessions table (``SESSIONS_TABLE_NAME``)."""
    return SessionStore(client("dynamodb"), table_name("sessions"))


def get_limiter() -> RateLimiter:
    """The rate_limits table (``RATE_LIMITS_TABLE_NAME``)."""
    return RateLimiter(client("dynamodb"), table_name("rate_limits"))


def _readiness_checks() -> dict[str, Callable[[], object]]:
    return {
        "sessions_table": lambda: get_sessions().ping(),
        "rate_limits_table": lambda: get_limiter().ping(),
        "api_keys_table": lambda: apikeys.ping(client("dynamodb"), table_name("api_keys")),
    }


for _name, _check in _readiness_checks().items():
    add_readiness_check(app, _name, _check, timeout=READINESS_TIMEOUT)


class HealthReady(BaseModel):
    """``/health/ready``: every check and its outcome."""

    status: Literal["ready"]
    checks: dict[str, CheckOutcome]


class HealthNotReady(BaseModel):
    """``/health/ready`` when a check fails: every check's outcome (the log has the causes), the failing ones."""

    status: Literal["not ready"]
    checks: dict[str, CheckOutcome]
    failing: list[str] = Field(description="The names of the failing checks, sorted")


@app.get("/health/live", tags=[PROBES_TAG])
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "alive"}


@app.get(
    "/health/ready",
    tags=[PROBES_TAG],
    response_model=HealthReady,
    responses={503: {"model": HealthNotReady, "description": "A table does not answer"}},
)
async def ready() -> dict[str, Any] | JSONResponse:
    """Every DynamoDB table the gateway needs answers; else 503 naming the failing checks."""
    results = await run_readiness_checks(app)
    failing = sorted(name for name, outcome in results.items() if outcome != "ok")
    if failing:
        return JSONResponse({"status": "not ready", "checks": results, "failing": failing}, status_code=503)
    return {"status": "ready", "checks": results}


# ------------------------------------------------------------------------------------------- sessions


_SESSION_ERRORS = error_responses(
    401, 503, descriptions={401: "No Bearer access token, or one that is not valid or whose session has ended"}
)


def current_session(request: Request, sessions: Annotated[SessionStore, Depends(get_sessions)]) -> Session:
    """The active session of the request's access token; else 401, or 503 when the sessions table does not answer."""
    with unavailable_on_aws_error("read the session", logger=logger):
        _, session = bearer.authenticate(request.headers.get("authorization"), sessions)
    return session


@app.get("/sessions/current", tags=["sessions"], responses=_SESSION_ERRORS)
def get_current_session(session: Annotated[Session, Depends(current_session)]) -> dict[str, Any]:
    """The caller's session."""
    return session.public()


@app.delete("/sessions/current", status_code=204, tags=["sessions"], responses=_SESSION_ERRORS)
def logout(
    session: Annotated[Session, Depends(current_session)], sessions: Annotated[SessionStore, Depends(get_sessions)]
) -> Response:
    """Log out: revoke the session; its access and refresh tokens stop working at once."""
    with unavailable_on_aws_error("revoke the session", logger=logger):
        sessions.revoke(session.session_id, session.subject, reason="logout")
    logger.info("Session revoked", extra={"reason": "logout", "kind": session.kind})
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------- rate limiting


def _source_ip(request: Request) -> str:
    event = proxy.event_of(request.scope)
    source = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    if isinstance(source, str) and source:
        return source
    return request.client.host if request.client else "unknown"


def _authorizer_context(request: Request) -> dict[str, Any]:
    event = proxy.event_of(request.scope)
    found = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
    return found if isinstance(found, dict) else {}


def _principal(request: Request) -> str:
    """Who to count the request against: authorizer principal, else a signed token's subject, else the IP."""
    principal = _authorizer_context(request).get("principalId")
    if isinstance(principal, str) and principal:
        return principal
    token = bearer.bearer_token(request.headers.get("authorization"))
    if token is not None:
        try:
            claims = tokens.verify_access_token(token)  # signature and claims only: no extra DynamoDB call
        except (tokens.InvalidToken, ConfigurationError, SecretUnavailable):
            pass  # no usable token (or no key right now): count the request against the IP
        else:
            if claims.get("kind") == "client":
                return f"client:{claims.get('client_id')}"
            return f"user:{claims['sub']}"
    return f"ip:{_source_ip(request)}"


def _policy(path: str) -> tuple[str, config.RatePolicy]:
    found = upstreams().match(path)
    if found is not None and found[1].rate_limit is not None:
        return found[0], found[1].rate_limit
    if found is not None:
        return found[0], own_policy()
    return "/", own_policy()


@app.middleware("http")
async def rate_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count the request; 429 past the limit; the X-RateLimit-* headers on every answer."""
    path = request.url.path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in _UNLIMITED_PREFIXES):
        return await call_next(request)
    route, policy = _policy(path)
    try:
        principal = await run_in_threadpool(_principal, request)
        decision: Decision | None = await run_in_threadpool(get_limiter().hit, route, principal, policy)
    except Exception as exc:
        logger.warning("Rate limiter unavailable; request let through", extra={"error": failure_detail(exc)})
        decision = None
    if decision is not None and not decision.allowed:
        logger.info("Rate limit exceeded", extra={"route": route, "principal_kind": principal.split(":", 1)[0]})
        return JSONResponse(
            error_body("too_many_requests", f"Rate limit exceeded: {policy.requests} requests per {policy.period} s"),
            status_code=429,
            headers=decision.headers(),
        )
    response = await call_next(request)
    if decision is not None:
        response.headers.update(decision.headers())
    return response


# ------------------------------------------------------------------------------------------- upstreams


def _upstream_principal(request: Request, upstream: proxy.Upstream) -> str | None:
    """Authenticate the caller as the upstream's ``auth`` says; return the principal, or raise 401."""
    context = _authorizer_context(request)
    if upstream.auth == "none":
        principal = context.get("principalId")
        return principal if isinstance(principal, str) else None
    if context.get("authMode") == upstream.auth and isinstance(context.get("principalId"), str):
        return str(context["principalId"])  # API Gateway ran the authorizer for this route
    from gateway import authorizer

    headers = dict(request.headers.items())
    reason, checked = authorizer.check_token(headers) if upstream.auth == "token" else authorizer.check_api_key(headers)
    if not checked:
        if upstream.auth == "token":
            raise Unauthorized(
                "A valid Bearer access token is required",
                headers={"WWW-Authenticate": 'Bearer realm="stratus", error="invalid_token"'},
            )
        raise Unauthorized("A valid x-api-key is required")
    logger.debug("Upstream caller authenticated", extra={"reason": reason})
    return str(checked["principalId"])


@app.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
    response_model=None,
)
async def upstream_route(request: Request) -> Response:
    """Forward the request to the upstream configured for its prefix; else 405 for a path of the gateway's own, else
    404 (the route takes every path, so Starlette's router never answers the 405 itself)."""
    found = upstreams().match(request.url.path)
    if found is None:
        allowed = allowed_methods(app, request.scope)
        if allowed:
            raise MethodNotAllowed(allowed)
        raise NotFound("Not Found")
    upstream = found[1]
    principal = await run_in_threadpool(_upstream_principal, request, upstream)
    event = proxy.event_of(request.scope)
    raw_path = event.get("rawPath")
    if not isinstance(raw_path, str):
        raw = request.scope.get("raw_path")
        raw_path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    suffix = proxy.safe_suffix(raw_path, upstream.prefix)
    if suffix is None:
        raise ApiError(400, "invalid_path", "The path has '.' or '..' segments or encoded slashes")
    # Behind API Gateway, X-Forwarded-Proto is API Gateway's own (it overrides the client's).
    proto = request.headers.get("x-forwarded-proto", "https") if event else request.url.scheme
    headers = proxy.request_headers(
        request.headers.items(),
        source_ip=_source_ip(request),
        proto=proto,
        host=request.headers.get("host"),
        request_id=(event.get("requestContext") or {}).get("requestId"),
        principal=principal,
    )
    body = await request.body()
    try:
        result = await run_in_threadpool(
            proxy.forward,
            http_client(),
            upstream,
            method=request.method,
            suffix=suffix,
            query=request.url.query,
            headers=headers,
            body=body,
        )
    except proxy.UpstreamError as exc:
        logger.warning("Upstream failed", extra={"upstream": upstream.name, "status": exc.status, "code": exc.code})
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)
    response = Response(content=result.body, status_code=result.status)
    for name, value in result.headers:
        response.headers.append(name, value)
    return response


handler = make_handler(app)
"""The Lambda handler (API Gateway HTTP API, payload format 2.0)."""
