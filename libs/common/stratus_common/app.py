"""The FastAPI app every service starts from: JSON errors, a bound on request bodies and the standard probes.

- ``GET /health``: ``{"status": "healthy", "service", "environment", "version", "uptime_seconds"}``
  (plus whatever the service's ``health_details`` adds);
- ``GET /liveness``: ``{"status": "alive"}``;
- ``GET /readiness``: ``{"status": "ready"}``, or 503 ``{"status": "not ready", "checks": {name: outcome}}``
  when a check registered with :func:`add_readiness_check` fails. The outcome is generic, ``"unavailable"`` or
  ``"timed out"``: a probe is public, and an AWS error's message names tables, ARNs and the account. What failed
  (the exception's class and AWS error code, never its message: :func:`failure_detail`) goes to the log.

The interactive documentation (``/docs``, ``/redoc``) and ``/openapi.json`` are served only where a stack is
developed: ``STRATUS_ENV`` ``local`` or ``dev``, unless ``STRATUS_PUBLIC_DOCS`` says ``true`` or ``false``
(:func:`public_docs`); elsewhere they are the JSON 404 of any unknown path.

Its OpenAPI document describes the errors as they are: the 422 FastAPI documents on every operation with parameters
or a body is an :class:`~stratus_common.errors.ErrorResponse` (not FastAPI's own ``HTTPValidationError``, which the
app never sends); every operation with a JSON body documents the 400 of a body that is not JSON and the 413 of the
body bound (:mod:`stratus_common.body_limit`); ``/readiness`` documents its 503. A route adds the other errors it
answers with ``responses=error_responses(404, 409)``; *documented_errors* of :func:`create_app` adds errors to every
operation but the probes (those tagged :data:`PROBES_TAG`), e.g. the 429 of a rate limit in front of every route;
*http_api_errors* adds to every operation those the HTTP API in front of the service answers itself, in API Gateway's
shape (:class:`~stratus_common.errors.HttpApiError`): the 401 and 403 of the authorizer of an ``auth = "api_key"``
or ``"token"`` service. A status the route documents too may then be either shape.

Every ``OPTIONS`` request is answered ``204`` with an empty body before any middleware or route, the service's own
included (:mod:`stratus_common.preflight`):
behind the HTTP API, a CORS preflight is sent to the service, and the API adds the CORS headers of stratus.toml.

A path the app has with another method is a 405 with ``Allow`` (every method of the path), in the same JSON shape
(:mod:`stratus_common.errors`); an app with a catch-all route (the gateway's upstream routes) asks
:func:`~stratus_common.errors.allowed_methods` itself, since its catch-all takes every path.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from stratus_common.aws_errors import error_code
from stratus_common.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from stratus_common.environment import LOCAL_ENVIRONMENTS, ConfigurationError, environment
from stratus_common.errors import ErrorResponse, HttpApiError, error_responses, install_error_handlers
from stratus_common.logging import get_logger
from stratus_common.preflight import PreflightMiddleware
from stratus_common.settings import get_settings

__all__ = [
    "PROBES_TAG",
    "CheckOutcome",
    "NotReady",
    "ReadinessCheck",
    "Ready",
    "add_readiness_check",
    "create_app",
    "failure_detail",
    "public_docs",
    "run_readiness_checks",
]

ReadinessCheck = Callable[[], object] | Callable[[], Awaitable[object]]
"""A readiness check: passes unless it raises or returns ``False``. Sync checks run in a thread."""

CheckOutcome = Literal["ok", "unavailable", "timed out"]
"""What a readiness check's outcome may say in public."""

_SCHEMAS = "#/components/schemas/"
PROBES_TAG = "probes"
"""The tag of the probes' operations (``/health``, ``/liveness``, ``/readiness``, and a service's own)."""
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


class Ready(BaseModel):
    """``/readiness`` when every check passes."""

    status: Literal["ready"]


class NotReady(BaseModel):
    """``/readiness`` when a check fails: the failing checks and their generic outcome (the log has the cause)."""

    status: Literal["not ready"]
    checks: dict[str, CheckOutcome] = Field(description='Each failing check: "unavailable" or "timed out"')


@dataclass(frozen=True)
class _Check:
    name: str
    check: ReadinessCheck
    timeout: float


def add_readiness_check(app: FastAPI, name: str, check: ReadinessCheck, *, timeout: float = 5.0) -> None:
    """Make ``/readiness`` of *app* (made by :func:`create_app`) depend on *check*.

    A check fails when it raises, returns ``False`` or takes longer than *timeout* seconds.
    """
    checks: list[_Check] = app.state.readiness_checks
    checks.append(_Check(name, check, timeout))


def failure_detail(exc: BaseException) -> str:
    """What a log may say of a failure: the exception's class, and its AWS error code when it has one.

    Never the message: AWS's messages name tables, queues, ARNs and the account id (``User: arn:aws:iam::...
    is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:...``).
    """
    name = type(exc).__name__
    code = error_code(exc)
    return f"{name} ({code})" if code and code != name else name


async def _run_check(check: _Check) -> tuple[CheckOutcome, str | None]:
    """The check's public outcome, and for a failure the detail for the log."""
    try:
        if inspect.iscoroutinefunction(check.check):
            outcome = await asyncio.wait_for(check.check(), check.timeout)
        else:
            outcome = await asyncio.wait_for(run_in_threadpool(check.check), check.timeout)
            if inspect.isawaitable(outcome):
                outcome = await asyncio.wait_for(outcome, check.timeout)
    except TimeoutError:
        return "timed out", f"no answer within {check.timeout:g} s"
    except Exception as exc:
        return "unavailable", failure_detail(exc)
    return ("unavailable", "the check returned False") if outcome is False else ("ok", None)


async def run_readiness_checks(app: FastAPI) -> dict[str, CheckOutcome]:
    """Run the readiness checks of *app* at once: ``{name: "ok" | "unavailable" | "timed out"}``, in the order they
    were added. The cause of each failure is logged (a warning), never returned."""
    checks: list[_Check] = app.state.readiness_checks
    results = await asyncio.gather(*(_run_check(check) for check in checks))
    details = {check.name: detail for check, (_, detail) in zip(checks, results, strict=True) if detail is not None}
    if details:
        app.state.logger.warning("Readiness checks failed", extra={"checks": details})
    return {check.name: outcome for check, (outcome, _) in zip(checks, results, strict=True)}


def public_docs(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``/docs``, ``/redoc`` and ``/openapi.json`` are served: ``STRATUS_PUBLIC_DOCS`` (``true`` or
    ``false``) when set, else whether ``STRATUS_ENV`` is ``local`` or ``dev``."""
    environ = os.environ if environ is None else environ
    value = environ.get("STRATUS_PUBLIC_DOCS", "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    if value:
        raise ConfigurationError("STRATUS_PUBLIC_DOCS: must be true or false")
    return environment(environ) in LOCAL_ENVIRONMENTS


def _error_response(status: int, suffix: str = "") -> dict[str, Any]:
    return {
        "description": error_responses(status)[status]["description"] + suffix,
        "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "ErrorResponse"}}},
    }


_HTTP_API_DESCRIPTIONS = {
    401: "The HTTP API's authorizer found no credentials",
    403: "The HTTP API's authorizer refused the credentials (or the route's rate limit)",
    429: "The HTTP API's throttle",
}


def _http_api_error(status: int, documented: dict[str, Any] | None) -> dict[str, Any]:
    """The response *status* documented as the HTTP API's answer, or as either shape when the route documents it."""
    gateway = {"$ref": _SCHEMAS + "HttpApiError"}
    if documented is None:
        description = _HTTP_API_DESCRIPTIONS.get(status, "An answer of the HTTP API in front of the service")
        return {"description": description, "content": {"application/json": {"schema": gateway}}}
    content = documented.setdefault("content", {}).setdefault("application/json", {})
    own = content.get("schema")
    content["schema"] = {"anyOf": [own, gateway]} if own and own != gateway else gateway
    return documented


def _document_errors(
    schema: dict[str, Any], max_body_bytes: int | None, documented_errors: Iterable[int], http_api_errors: Iterable[int]
) -> dict[str, Any]:
    """*schema* (an OpenAPI document FastAPI made) with its errors in the stack's shape: see the module's docstring."""
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, HttpApiError):
        model_schema = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
        for name, definition in {**model_schema.pop("$defs", {}), model.__name__: model_schema}.items():
            components.setdefault(name, definition)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            content = responses.get("422", {}).get("content", {}).get("application/json", {})
            if content.get("schema") == {"$ref": _SCHEMAS + "HTTPValidationError"}:
                content["schema"] = {"$ref": _SCHEMAS + "ErrorResponse"}
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body and "400" not in responses:
                responses["400"] = _error_response(400)
            if max_body_bytes is not None and body and "413" not in responses:
                responses["413"] = _error_response(413, f": over {max_body_bytes} bytes")
            if PROBES_TAG not in operation.get("tags", ()):
                for status in documented_errors:
                    responses.setdefault(str(status), _error_response(status))
            for status in http_api_errors:
                responses[str(status)] = _http_api_error(status, responses.get(str(status)))
    for unused in ("HTTPValidationError", "ValidationError", "HttpApiError"):  # the second is used by the first only
        if unused in components and f'"{_SCHEMAS}{unused}"' not in json.dumps(schema):
            del components[unused]
    return schema


def create_app(
    title: str,
    *,
    version: str | None = None,
    service: str | None = None,
    description: str = "",
    health_details: Callable[[], Mapping[str, Any]] | None = None,
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
    documented_errors: Iterable[int] = (),
    http_api_errors: Iterable[int] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Return a FastAPI app with the JSON error handlers, a bound on request bodies and the ``/health``,
    ``/liveness``, ``/readiness`` probes.

    *version* defaults to ``SERVICE_VERSION`` and *service* to ``STRATUS_SERVICE`` (then ``SERVICE_NAME``,
    then the title). *health_details* returns extra fields for ``/health``. A request body over *max_body_bytes*
    (1 MiB unless given; ``None``: no bound) is a 413 ``payload_too_large``. *documented_errors* are statuses every
    operation but the probes may answer, documented as :class:`~stratus_common.errors.ErrorResponse`;
    *http_api_errors* those the HTTP API answers itself for every operation (``(401, 403)`` behind an authorizer),
    documented as :class:`~stratus_common.errors.HttpApiError`. Other keyword
    arguments go to :class:`fastapi.FastAPI`; where :func:`public_docs` is false, the documentation and the OpenAPI
    document are not served whatever they say.
    """
    settings = get_settings()
    service_name = service or settings.service_name or title
    app_version = version or settings.version
    if not public_docs():
        fastapi_kwargs.update(docs_url=None, redoc_url=None, openapi_url=None)
    app = FastAPI(title=title, version=app_version, description=description, **fastapi_kwargs)
    app.state.readiness_checks = []
    app.state.service_name = service_name
    app.state.started = time.monotonic()
    logger = get_logger(service_name)
    app.state.logger = logger
    errors, http_api = tuple(documented_errors), tuple(http_api_errors)
    install_error_handlers(app, logger=logger)
    if max_body_bytes is not None:
        app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    build_middleware_stack = app.build_middleware_stack

    def build_with_preflight() -> ASGIApp:  # outermost, around what the service adds too: no code of it sees OPTIONS
        return PreflightMiddleware(build_middleware_stack())

    app.build_middleware_stack = build_with_preflight  # type: ignore[method-assign]
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_errors(generate_openapi(), max_body_bytes, errors, http_api)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=[PROBES_TAG])
    async def health() -> dict[str, Any]:
        """Report that the service is up, and what it is."""
        body: dict[str, Any] = {
            "status": "healthy",
            "service": service_name,
            "environment": get_settings().environment,
            "version": app_version,
            "uptime_seconds": round(time.monotonic() - app.state.started, 2),
        }
        if health_details is not None:
            body.update(health_details())
        return body

    @app.get("/liveness", tags=[PROBES_TAG])
    async def liveness() -> dict[str, str]:
        """Report that the process is alive."""
        return {"status": "alive"}

    @app.get(
        "/readiness",
        tags=[PROBES_TAG],
        response_model=Ready,
        responses={503: {"model": NotReady, "description": "A check failed: the service cannot serve requests"}},
    )
    async def readiness() -> dict[str, str] | JSONResponse:
        """Report whether the service can serve requests: every readiness check passes."""
        outcomes = await run_readiness_checks(app)
        failures = {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}
        if failures:
            return JSONResponse({"status": "not ready", "checks": failures}, status_code=503)
        return {"status": "ready"}

    return app
