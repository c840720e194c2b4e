"""Who may talk to the console: pages it served itself, on 127.0.0.1, and nobody else.

The console shows events that hold tokens and can replay requests, so it refuses (403) any request whose
``Host`` is not its own address (DNS rebinding: a site whose name resolves to 127.0.0.1 would otherwise read it),
whose ``Origin`` is not its own (another site's page, a sandboxed ``null`` one), or that a browser marks as
cross-site (``Sec-Fetch-Site``). Its pages get a strict Content-Security-Policy and may not be framed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
                                 b"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def refusal(headers: dict[str, str], hosts: frozenset[str]) -> str | None:
    """Why this request is refused, or None."""
    host = headers.get("host")
    if host not in hosts:
        return "the console answers only to its own address (Host)"
    origin = headers.get("origin")
    if origin is not None and origin.removeprefix("http://") not in hosts:
        return "the console answers only to its own pages (Origin)"
    if headers.get("sec-fetch-site") == "cross-site":
        return "the console answers only to its own pages (Sec-Fetch-Site)"
    return None


class Guard:
    """ASGI middleware: :func:`refusal` -> 403 JSON; every answer gets :data:`SECURITY_HEADERS`."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.hosts = allowed_hosts(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        why = refusal(headers, self.hosts)
        if why is not None:
            body = json.dumps({"message": why}).encode()
            start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": start + SECURITY_HEADERS})
            await send({"type": "http.response.body", "body": body})
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, secured)
