"""The FastAPI app every service starts from: JSON errors, a bound on request bodies and the standard probes.

- ``GET /health``: ``{"status": "healthy", "service", "environment", "version", "uptime_seconds"}``
  (plus whatever the service's ``health_details`` adds);
- ``GET /liveness``: ``{"status": "alive"}``;
- ``GET /readiness``: ``{"status": "ready"}``, or 503 ``{"status": "not ready", "checks": {name: error}}``
  when a check registered with :func:`add_readiness_check` fails.

Its OpenAPI document describes the errors as they are: the 422 FastAPI documents on every operation with parameters
or a body is an :class:`~stratus_common.errors.ErrorResponse` (not FastAPI's own ``HTTPValidationError``, which the
app never sends), and every operation with a body documents the 413 of the body bound
(:mod:`stratus_common.body_limit`). A route adds the other errors it answers with
``responses=error_responses(404, 409)``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stratus_common.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from stratus_common.errors import ErrorResponse, error_responses, install_error_handlers
from stratus_common.logging import get_logger
from stratus_common.settings import get_settings

__all__ = ["ReadinessCheck", "add_readiness_check", "create_app"]

ReadinessCheck = Callable[[], object] | Callable[[], Awaitable[object]]
"""A readiness check: passes unless it raises or returns ``False``. Sync checks run in a thread."""

_MAX_ERROR_TEXT = 300
_SCHEMAS = "#/components/schemas/"


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


async def _run_check(check: _Check) -> str | None:
    """Return ``None`` if the check passes, else the text explaining why not."""
    try:
        if inspect.iscoroutinefunction(check.check):
            outcome = await asyncio.wait_for(check.check(), check.timeout)
        else:
            outcome = await asyncio.wait_for(run_in_threadpool(check.check), check.timeout)
            if inspect.isawaitable(outcome):
                outcome = await asyncio.wait_for(outcome, check.timeout)
    except TimeoutError:
        return f"timed out after {check.timeout:g} s"
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 3] + "..."
    return "check returned False" if outcome is False else None


def _document_errors(schema: dict[str, Any], max_body_bytes: int | None) -> dict[str, Any]:
    """*schema* (an OpenAPI document FastAPI made) with its errors in the stack's shape: see the module's docstring."""
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template=_SCHEMAS + "{model}")
    for name, definition in {**error_schema.pop("$defs", {}), "ErrorResponse": error_schema}.items():
        components.setdefault(name, definition)
    error = error_responses(413)[413]
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            content = responses.get("422", {}).get("content", {}).get("application/json", {})
            if content.get("schema") == {"$ref": _SCHEMAS + "HTTPValidationError"}:
                content["schema"] = {"$ref": _SCHEMAS + "ErrorResponse"}
            if max_body_bytes is not None and "requestBody" in operation and "413" not in responses:
                responses["413"] = {
                    "description": f"{error['description']}: over {max_body_bytes} bytes",
                    "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "ErrorResponse"}}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's; the second is used by the first only
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
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Return a FastAPI app with the JSON error handlers, a bound on request bodies and the ``/health``,
    ``/liveness``, ``/readiness`` probes.

    *version* defaults to ``SERVICE_VERSION`` and *service* to ``STRATUS_SERVICE`` (then ``SERVICE_NAME``,
    then the title). *health_details* returns extra fields for ``/health``. A request body over *max_body_bytes*
    (1 MiB unless given; ``None``: no bound) is a 413 ``payload_too_large``. Other keyword arguments go to
    :class:`fastapi.FastAPI`.
    """
    settings = get_settings()
    service_name = service or settings.service_name or title
    app_version = version or settings.version
    app = FastAPI(title=title, version=app_version, description=description, **fastapi_kwargs)
    app.state.readiness_checks = []
    app.state.service_name = service_name
    app.state.started = time.monotonic()
    logger = get_logger(service_name)
    install_error_handlers(app, logger=logger)
    if max_body_bytes is not None:
        app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_errors(generate_openapi(), max_body_bytes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=["probes"])
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

    @app.get("/liveness", tags=["probes"])
    async def liveness() -> dict[str, str]:
        """Report that the process is alive."""
        return {"status": "alive"}

    @app.get("/readiness", tags=["probes"], response_model=None)
    async def readiness() -> dict[str, str] | JSONResponse:
        """Report whether the service can serve requests: every readiness check passes."""
        checks: list[_Check] = app.state.readiness_checks
        results = await asyncio.gather(*(_run_check(check) for check in checks))
        failures = {check.name: error for check, error in zip(checks, results, strict=True) if error is not None}
        if failures:
            logger.warning("Readiness checks failed", extra={"checks": failures})
            return JSONResponse({"status": "not ready", "checks": failures}, status_code=503)
        return {"status": "ready"}

    return app
