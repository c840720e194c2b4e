"""The Lambda entry point of an HTTP service: API Gateway HTTP API events (payload 2.0) into the ASGI app.

An HTTP API cannot rewrite the path of a Lambda proxy integration, so a service routed at ``/worker``
receives ``/worker/health`` as is and must strip its own prefix. Mangum's ``api_gateway_base_path``
is not enough for that (checked against mangum 0.22's ``strip_api_gateway_path``):

- a request for exactly ``/worker`` becomes the empty path, which Starlette answers with a 307 to
  ``https://<host>/``: the API's root, i.e. another service (it must be the app's ``/``);
- the prefix is stripped on a string match, not a path-segment match (``/workers`` -> ``s``);
- ``root_path`` stays empty, so the app cannot build URLs that work through the API (``/docs``).

So :func:`make_handler` gives Mangum the path untouched (base path ``/``) and wraps the app in
:class:`BasePathMiddleware`, which does the ASGI-correct thing: for a request under the base path it
sets ``root_path`` to the base path and keeps the full ``path``; Starlette routes on the part after
``root_path``. ``/worker`` is served as ``/worker/``, i.e. the app's ``/``. A request outside the base
path (a direct invoke of ``/health``) is passed through unchanged.

Mangum runs each request on an event loop it looks up with ``asyncio.get_event_loop()``, which fails
once anything in the thread has closed and unset the loop (``asyncio.run`` does) and warns on Python
3.12+ when it has to create one; the handler keeps one loop per thread and sets it before each call.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from mangum import Mangum

from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BasePathMiddleware", "LambdaHandler", "make_handler", "normalise_base_path"]

_loops = threading.local()


def normalise_base_path(base_path: str | None) -> str:
    """Return *base_path* as ``/prefix`` (no trailing slash), or ``/`` for none."""
    value = (base_path or "").strip().strip("/")
    return f"/{value}" if value else "/"


class BasePathMiddleware:
    """Serve an ASGI app under a path prefix that the proxy in front does not strip.

    *base_path* of ``None`` means: read ``STRATUS_BASE_PATH`` from the settings at each request.
    """

    def __init__(self, app: ASGIApp, base_path: str | None = None) -> None:
        self.app = app
        self.base_path = None if base_path is None else normalise_base_path(base_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            base = self.base_path if self.base_path is not None else normalise_base_path(get_settings().base_path)
            path: str = scope.get("path") or "/"
            if base != "/" and (path == base or path.startswith(base + "/")):
                scope = dict(scope)
                scope["root_path"] = scope.get("root_path", "") + base
                scope["path"] = path if path != base else base + "/"
        await self.app(scope, receive, send)


def _event_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _loops.loop = loop
    asyncio.set_event_loop(loop)
    return loop


class LambdaHandler(Mangum):
    """Mangum, with an event loop that survives other code's ``asyncio.run``."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Handle one Lambda invocation."""
        _event_loop()
        response: dict[str, Any] = super().__call__(event, context)
        return response


def make_handler(app: ASGIApp, *, base_path: str | None = None) -> LambdaHandler:
    """Return the Lambda handler for *app*: ``handler = make_handler(app)`` in the service's module.

    *base_path* defaults to ``STRATUS_BASE_PATH`` (read at each request, so it is the value of the
    Lambda's environment); lifespan events are off, as Lambda has no shutdown to run them at.
    """
    _event_loop()  # Mangum's constructor looks the loop up too
    return LambdaHandler(BasePathMiddleware(app, base_path), lifespan="off", api_gateway_base_path="/")
