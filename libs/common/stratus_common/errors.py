"""Errors a service raises, and how every error becomes the same JSON response.

The tree::

    Exception
     └── ApiError(status_code, code, message, details=None)
          ├── BadRequest          400  bad_request
          ├── Unauthorized        401  unauthorized
          ├── Forbidden           403  forbidden
          ├── NotFound            404  not_found
          ├── MethodNotAllowed    405  method_not_allowed   (with the ``Allow`` header)
          ├── Conflict            409  conflict
          ├── PayloadTooLarge     413  payload_too_large
          ├── TooManyRequests     429  too_many_requests
          ├── BadGateway          502  bad_gateway
          └── ServiceUnavailable  503  service_unavailable

:func:`install_error_handlers` renders every error a FastAPI app can meet as::

    {"error": {"code": "...", "message": "...", "details": ...}}

(``details`` only when there are some):

- an :class:`ApiError`: its status, code, message and details;
- a request that fails validation: 422 ``validation_error``, with ``details`` a list of
  ``{"field": "body.payload", "message": "...", "type": "..."}``; the submitted values are never
  echoed, since they may be secrets;
- a body that is not valid JSON: 400 ``invalid_json``, naming the problem and where it is;
- an unknown route, a wrong method or any other ``HTTPException``: its status, with a code derived
  from the status (``not_found``, ``method_not_allowed``, ...) and its headers; a 405's ``Allow`` lists the
  methods of every route of the path (:func:`allowed_methods`), not only those of the first route Starlette met;
- any other exception: 500 ``internal_error`` / ``Internal server error``; the traceback is logged,
  never returned.

:class:`ErrorResponse` is that shape as a pydantic model, for the OpenAPI document: a route declares the errors it
answers with ``responses=error_responses(404, 409)`` (:func:`error_responses`). :class:`HttpApiError` is the shape of
what the HTTP API in front of a service answers itself (``{"message": "Forbidden"}``: its authorizer, its throttle).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Route

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ApiError",
    "BadGateway",
    "BadRequest",
    "Conflict",
    "ErrorBody",
    "ErrorResponse",
    "Forbidden",
    "HttpApiError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "allowed_methods",
    "error_body",
    "error_responses",
    "install_error_handlers",
]


class _ExceptionLogger(Protocol):
    """What the error handlers need from a logger: stdlib ``logging.Logger`` and Powertools ``Logger`` fit."""

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None: ...  # pragma: no cover


class ApiError(Exception):
    """An error with an HTTP status that the client is meant to see.

    ``code`` is a stable, machine-readable snake_case string; ``message`` is for humans;
    ``details`` is any JSON-serialisable value; ``headers`` are added to the response
    (e.g. ``Retry-After``).
    """

    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, message={self.message!r})"


class _FixedStatusError(ApiError):
    """An :class:`ApiError` whose status and default code belong to the class."""

    default_message: str = "Error"

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        cls = type(self)
        super().__init__(
            cls.status_code,
            code or cls.code,
            message or cls.default_message,
            details,
            headers=headers,
        )


class BadRequest(_FixedStatusError):
    """400: the request is wrong in a way validation did not catch."""

    status_code = 400
    code = "bad_request"
    default_message = "Bad request"


class Unauthorized(_FixedStatusError):
    """401: no credentials, or credentials that are not valid."""

    status_code = 401
    code = "unauthorized"
    default_message = "Unauthorized"


class Forbidden(_FixedStatusError):
    """403: valid credentials that do not allow this."""

    status_code = 403
    code = "forbidden"
    default_message = "Forbidden"


class NotFound(_FixedStatusError):
    """404: no such resource."""

    status_code = 404
    code = "not_found"
    default_message = "Not found"


class MethodNotAllowed(ApiError):
    """405: the path exists, the method does not; ``Allow`` lists the methods it has (RFC 9110 §15.5.6)."""

    status_code = 405
    code = "method_not_allowed"

    def __init__(self, allowed: Iterable[str], message: str = "Method Not Allowed") -> None:
        self.allowed = sorted({method.upper() for method in allowed})
        super().__init__(405, self.code, message, headers={"Allow": ", ".join(self.allowed)})


class Conflict(_FixedStatusError):
    """409: the request conflicts with the resource's current state."""

    status_code = 409
    code = "conflict"
    default_message = "Conflict"


class PayloadTooLarge(_FixedStatusError):
    """413: the request body is over the size the service accepts."""

    status_code = 413
    code = "payload_too_large"
    default_message = "Payload too large"


class TooManyRequests(_FixedStatusError):
    """429: the client is over its rate limit."""

    status_code = 429
    code = "too_many_requests"
    default_message = "Too many requests"


class BadGateway(_FixedStatusError):
    """502: a service this one called answered with something it cannot use."""

    status_code = 502
    code = "bad_gateway"
    default_message = "Bad gateway"


class ServiceUnavailable(_FixedStatusError):
    """503: a dependency is down; the client may retry later."""

    status_code = 503
    code = "service_unavailable"
    default_message = "Service unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Return the JSON body of an error response: ``{"error": {"code", "message"[, "details"]}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable and machine-readable: not_found, validation_error, version_conflict, ...")
    message: str = Field(description="For people")
    details: Any = Field(
        default=None,
        description='Absent unless there are some; a 422 lists the fields at fault: [{"field", "message", "type"}]',
    )


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class HttpApiError(BaseModel):
    """An answer of the HTTP API in front of the service, in API Gateway's shape: ``{"message": "Unauthorized"}``
    (the authorizer found no credentials), ``"Forbidden"`` (it denied them), ``"Too Many Requests"``, ..."""

    message: str


_ERROR_DESCRIPTIONS = {
    400: "The request is malformed: a body that is not valid JSON, ...",
    401: "No signed-in caller, or credentials that are not valid",
    403: "The caller may not do this",
    404: "No such resource",
    405: "The path does not have this method: Allow lists those it has",
    409: "The request conflicts with the resource's current state",
    413: "The request body is too large",
    422: "A field is missing or not valid; details name it",
    429: "Too many requests: retry after Retry-After seconds",
    502: "A service this one called answered with something unusable",
    503: "A dependency is unavailable: retry after Retry-After seconds",
}


def error_responses(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a FastAPI route for the error *statuses* it answers, each documented as an
    :class:`ErrorResponse`; *descriptions* replace the default description of a status."""
    described = {**_ERROR_DESCRIPTIONS, **(descriptions or {})}
    return {
        status: {"model": ErrorResponse, "description": described.get(status) or _status_phrase(status) or "Error"}
        for status in statuses
    }


def _status_phrase(status_code: int) -> str | None:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return None


def _status_code_name(status_code: int) -> str:
    phrase = _status_phrase(status_code)
    if phrase is None:
        return "http_error"
    return phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")


def _field(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors: Sequence[Mapping[str, Any]] = exc.errors()
    invalid_json = [error for error in errors if error.get("type") == "json_invalid"]
    if invalid_json:
        first = invalid_json[0]
        problem = str((first.get("ctx") or {}).get("error", "")) or "not valid JSON"
        loc = tuple(first.get("loc", ()))
        where = f" at position {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        return JSONResponse(
            error_body("invalid_json", f"Request body is not valid JSON: {problem}{where}"),
            status_code=400,
        )
    details = [
        {
            "field": _field(error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    return JSONResponse(error_body("validation_error", "Request validation failed", details), status_code=422)


def allowed_methods(app: Starlette, scope: Scope) -> set[str]:
    """The ``Allow`` of a 405 for the request: the methods of the path (as the OpenAPI document has it, e.g.
    ``/{player_id}``) of the first of *app*'s routes that takes the request's path but not its method, all routes of
    that path together; empty when no route takes the path. Also for an app with a catch-all route."""
    routes = [route for route in app.router.routes if isinstance(route, Route) and route.methods]
    path = next((route.path for route in routes if route.matches(scope)[0] is Match.PARTIAL), None)
    return {method for route in routes if route.path == path for method in route.methods or ()}


def _http_exception_response(exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status in (204, 304) or status < 200:
        return Response(status_code=status, headers=headers)  # these statuses have no body
    if isinstance(exc.detail, str) and exc.detail:
        message, details = exc.detail, None
    else:
        message, details = _status_phrase(status) or "Error", exc.detail
    return JSONResponse(error_body(_status_code_name(status), message, details), status_code=status, headers=headers)


class _CatchAllMiddleware:
    """Turns an exception no handler took into the JSON 500, logging the traceback.

    It sits inside Starlette's ``ServerErrorMiddleware``, which would otherwise answer with plain text
    and re-raise (so Mangum and uvicorn log the traceback a second time).
    """

    def __init__(self, app: ASGIApp, logger: _ExceptionLogger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            self.logger.exception("Unhandled exception in %s %s", scope.get("method", "?"), scope.get("path", "?"))
            if started:
                raise
            response = JSONResponse(error_body("internal_error", "Internal server error"), status_code=500)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI, *, logger: _ExceptionLogger | None = None) -> None:
    """Make *app* answer every error with the ``{"error": {...}}`` JSON body.

    *logger* receives the traceback of unhandled exceptions; by default the ``stratus`` stdlib logger.
    """

    async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=exc.headers
        )

    async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_response(exc)

    async def handle_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405 and (allowed := allowed_methods(request.app, request.scope)):
            allow = {"Allow": ", ".join(sorted(allowed))}
            exc = StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}), **allow})
        return _http_exception_response(exc)

    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_middleware(_CatchAllMiddleware, logger=logger or logging.getLogger("stratus"))
