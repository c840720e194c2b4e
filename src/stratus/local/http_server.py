"""The HTTP API's server: HTTP/1.1 over asyncio and httptools, feeding :meth:`HttpApi.respond`.

Why not uvicorn (which serves the Lambda Invoke API): API Gateway answers with whole responses, so the
ASGI streaming machinery buys nothing here, and uvicorn writes a response's head and body in two system
calls (two packets with TCP_NODELAY). On the hot path of every request this server writes each response
in one call. What it handles: keep-alive (idle connections close after 30 s), pipelined requests
(answered in order), ``Expect: 100-continue``, chunked request bodies (httptools decodes them), HEAD, the
10 MB payload limit (413, then the connection closes), malformed requests (400, then close). RFC 9112's framing
rules: an HTTP/1.1 request needs exactly one ``Host`` (§3.2: else 400), no request has two; an HTTP/1.0 request with
``Transfer-Encoding`` is answered and the connection then closed (§6.1), so nothing sent after it is served.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from stratus.events.httpapi import HttpRequest, gateway_error
from stratus.local.gateway import MAX_PAYLOAD, new_request_id

if TYPE_CHECKING:
    from stratus.local.gateway import HttpApi

KEEP_ALIVE_S = 30.0
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: list[object] = [0, b""]


def _date() -> bytes:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
    return _date_cache[1]  # type: ignore[return-value]


class _Pending:
    __slots__ = ("bad", "body", "headers", "keep_alive", "last", "method", "too_large", "url", "version")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.too_large = False
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.bad = False  # answered 400, then the connection closes
        self.last = False  # nothing after it on the connection is served


class HttpApiProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, api: HttpApi) -> None:
        self.api = api
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.current = _Pending()
        self.size = 0
        self.queue: deque[_Pending] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.closing = False
        self.ended = False  # a message that ends the connection was queued: later ones are not served

    # ------------------------------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0])
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.idle is not None:
            self.idle.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:  # a 413 is on its way; the rest of the body is not read
            return
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400)
        except httptools.HttpParserError:
            self._fail(400)

    def _arm_idle(self) -> None:
        if self.transport is not None:
            self.idle = asyncio.get_running_loop().call_later(KEEP_ALIVE_S, self._close)

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _fail(self, status: int) -> None:
        if self.transport is not None and not self.transport.is_closing():
            body = b'{"message":"Bad Request"}'
            head = self._head(status, [("content-type", "application/json")], len(body), "-", False)
            self.transport.write(head + body)
            self.transport.close()

    # ---------------------------------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        self.current = _Pending()
        self.size = 0

    def on_url(self, url: bytes) -> None:
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        pending = self.current
        version = self.parser.get_http_version()
        hosts = sum(1 for name, _ in pending.headers if name == "host")
        if hosts > 1 or (hosts == 0 and version != "1.0"):
            pending.bad = pending.last = True
        elif version == "1.0" and any(name == "transfer-encoding" for name, _ in pending.headers):
            pending.last = True
        for name, value in pending.headers:
            if name == "content-length" and value.isdigit() and int(value) > MAX_PAYLOAD:
                # Too large by its own declaration: answer 413 now, without reading the body, and hang up.
                pending.too_large = True
                self.closing = True
                self.on_message_complete()
                return
            if name == "expect" and value.lower() == "100-continue" and self.transport is not None:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        pending = self.current
        if pending.too_large:
            return
        self.size += len(body)
        if self.size > MAX_PAYLOAD:
            pending.too_large = True
            pending.body = []
        else:
            pending.body.append(body)

    def on_message_complete(self) -> None:
        pending = self.current
        if pending in self.queue or self.ended:  # already queued at its headers (413), or after the last one
            return
        pending.method = self.parser.get_method().decode()
        pending.version = self.parser.get_http_version()
        pending.keep_alive = self.parser.should_keep_alive() and not pending.too_large and not pending.last
        self.ended = pending.last
        self.queue.append(pending)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._serve())

    # ------------------------------------------------------------------------------------- responses

    async def _serve(self) -> None:
        while self.queue and self.transport is not None:
            pending = self.queue.popleft()
            if pending.bad:
                self._fail(400)
                return
            path, _, query = pending.url.decode("latin-1").partition("?")
            request = HttpRequest(
                method=pending.method,
                raw_path=path,
                raw_query=query,
                headers=pending.headers,
                body=b"".join(pending.body),
                source_ip=self.client_ip,
                protocol=f"HTTP/{pending.version}",
            )
            request_id = new_request_id()
            try:
                response = await self.api.respond(request, request_id, too_large=pending.too_large)
            except Exception:  # never leave a client hanging: API Gateway's own 500
                response = gateway_error(500, "Internal Server Error")
            transport = self._connection()  # the client may have gone while the integration ran
            if transport is None:
                return
            body = b"" if pending.method == "HEAD" else response.body
            head = self._head(response.status, response.headers, len(response.body), request_id, pending.keep_alive)
            transport.write(head + body)
            if pending.too_large:  # let the client finish sending before the close, or it may see a reset
                if transport.can_write_eof():
                    transport.write_eof()
                asyncio.get_running_loop().call_later(1.0, transport.close)
                return
            if not pending.keep_alive:
                transport.close()
                return
        self._arm_idle()

    def _connection(self) -> asyncio.Transport | None:
        return self.transport

    @staticmethod
    def _head(status: int, headers: list[tuple[str, str]], length: int, request_id: str, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        lines.append(f"content-length: {length}")
        lines.append(f"apigw-requestid: {request_id}")
        if not keep_alive:
            lines.append("connection: close")
        head = "\r\n".join(lines).encode("latin-1", errors="replace")
        return head + b"\r\ndate: " + _date() + b"\r\n\r\n"


async def serve(api: HttpApi, sock: socket.socket) -> asyncio.Server:
    """Serve ``api`` on an already bound, listening socket."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: HttpApiProtocol(api), sock=sock)
