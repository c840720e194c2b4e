"""A bound on request bodies: a body over the bound is a 413 ``payload_too_large`` before the app parses it.

:func:`stratus_common.app.create_app` installs :class:`BodyLimitMiddleware` with ``max_body_bytes``
(:data:`DEFAULT_MAX_BODY_BYTES`, 1 MiB, unless the service says otherwise). A body that announces more in
``Content-Length`` is refused without being read; one that streams more is refused once it passes the bound. Requests
of methods that carry no body (``GET``, ``HEAD``, ``OPTIONS``, ``DELETE``) are passed on as they are.

Why 1 MiB by default: API Gateway takes up to 10 MB and Lambda up to 6 MB of event, but a JSON API of this stack
has no body anywhere near that; a service whose largest valid body is known sets its own bound (the text service:
16 KiB), so that an oversized body costs neither parsing nor validation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse

from stratus_common.errors import PayloadTooLarge, error_body

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimitMiddleware"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""The bound :func:`~stratus_common.app.create_app` sets unless told otherwise: 1 MiB."""

_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class BodyLimitMiddleware:
    """Answer 413 ``payload_too_large`` to a request whose body is over *max_bytes*; pass the others on."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body must be at most {self.max_bytes} bytes"
        response = JSONResponse(error_body(PayloadTooLarge.code, message), status_code=PayloadTooLarge.status_code)
        await response(scope, receive, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                text = value.decode("latin-1").strip()
                return int(text) if text.isdigit() else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in _NO_BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = self._declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out *messages* first, then whatever *receive* gives."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
