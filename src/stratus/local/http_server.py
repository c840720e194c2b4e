"""The HTTP API's server: HTTP/1.1 over asyncio and httptools, feeding :meth:`HttpApi.respond`.

Why not uvicorn (which serves the Lambda Invoke API): API Gateway answers with whole responses, so the
ASGI streaming machinery buys nothing here, and uvicorn writes a response's head and body in two system
calls (two packets with TCP_NODELAY). On the hot path of every request this server writes each response
in one call. What it handles: keep-alive (idle connections close after 30 s), pipelined requests
(answered in order), ``Expect: 100-continue``, chunked request bodies (httptools decodes them), HEAD, the
10 MB payload limit (413, then the connection closes), malformed requests (400, then close). RFC 9112's framing
rules: an HTTP/1.1 request needs exactly one ``Host`` (§3.2: else 400), no request has two; an HTTP/1.0 request with
``Transfer-Encoding`` is answered and the connection then closed (§6.1), so nothing sent after it is served.

What a client cannot make it hold, or hold for long (a header section over the HTTP API's 10,240-byte quota: 431;
a request not received in time: 408; a pipeline the client does not read: reading stops) is in ``http_limits``.
Request ids have AWS's shape (``httpapi.request_id``); one id is the ``apigw-requestid`` header and the event's.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING

from stratus.events.httpapi import HttpRequest, gateway_error
from stratus.local.gateway import MAX_PAYLOAD
from stratus.local.http_limits import MAX_HEAD, Limits, ReadGuard, error_body
from stratus.local.httpapi.request_id import new_request_id

if TYPE_CHECKING:
    from stratus.local.gateway import HttpApi

OPEN: set[HttpApiProtocol] = set()  # connections being served (a test can check that none is left behind)
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: list[object] = [0, b""]


def _date() -> bytes:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
    return _date_cache[1]  # type: ignore[return-value]


class _Pending:
    __slots__ = ("body", "error", "headers", "keep_alive", "last", "method", "too_large", "url", "version")

    def __init__(self, error: int = 0) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.too_large = False
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.error = error  # answered with this status (400, 408, 431), then the connection closes
        self.last = bool(error)  # nothing after it on the connection is served


class HttpApiProtocol(ReadGuard):
    """One client connection: the parser's callbacks queue requests, a worker answers them in order."""

    def __init__(self, api: HttpApi, limits: Limits = Limits()) -> None:  # noqa: B008 (frozen)
        super().__init__(limits)
        self.api = api
        self.client_ip = "127.0.0.1"
        self.current = _Pending()
        self.head_size = 0  # request line + header values of this head
        self.queue: deque[_Pending] = deque()
        self.max_queued = 0  # the most requests ever waiting at once (never above MAX_QUEUED)
        self.worker: asyncio.Task[None] | None = None
        self.ended = False  # a message that ends the connection was queued: later ones are not served

    # ------------------------------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        OPEN.add(self)
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0])
        self.arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        OPEN.discard(self)
        self.queue.clear()
        self.lost()

    def waiting(self) -> int:
        return len(self.queue)

    def answering(self) -> bool:
        return self.worker is not None and not self.worker.done()

    def reject(self, status: int, *, upgraded: bool = False) -> None:
        """Answer ``status`` after the requests already queued; parse and read nothing more."""
        if upgraded and self.queue and self.queue[-1] is self.current:  # completed, then refused: never answered
            self.queue.pop()
            self.ended = False
        self.stop_reading()
        if not self.ended:
            self._enqueue(_Pending(status))

    # ---------------------------------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        self.current = _Pending()
        self.size = self.head_size = 0
        self.in_message = True

    def on_url(self, url: bytes) -> None:
        self.head_size += len(url)
        if self.head_size <= MAX_HEAD:
            self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_head:  # a chunked trailer: never one of the request's headers
            return
        self.head_size += len(value)
        if self.head_size <= MAX_HEAD:
            self.current.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.body_raw = self.chunks = 0
        if self.deadline is not None:  # the head's; the body gets its own, armed after this feed
            self.cancel_deadline()
        pending = self.current
        if self.head_size + len(self.parser.get_method()) + 10 > MAX_HEAD:  # + the request line's version, spaces
            self.reject(431)
            return
        version = self.parser.get_http_version()
        hosts = sum(1 for name, _ in pending.headers if name == "host")
        if hosts > 1 or (hosts == 0 and version != "1.0"):
            pending.error, pending.last = 400, True
        elif version == "1.0" and any(name == "transfer-encoding" for name, _ in pending.headers):
            pending.last = True
        for name, value in pending.headers:
            if name == "content-length" and value.isdigit() and int(value) > MAX_PAYLOAD:
                # Too large by its own declaration: answer 413 now, without reading the body, and hang up.
                pending.too_large = True
                self.on_message_complete()
                self.closing = self.ended = True
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

    def on_chunk_header(self) -> None:
        self.chunks += 1

    def on_message_complete(self) -> None:
        self.in_message, self.in_head, self.head_raw = False, True, 0
        if self.deadline is not None:
            self.cancel_deadline()
        if self.ended:  # after the last one
            return
        pending = self.current
        pending.method = self.parser.get_method().decode()
        pending.version = self.parser.get_http_version()
        pending.keep_alive = self.parser.should_keep_alive() and not pending.too_large and not pending.last
        self._enqueue(pending)

    def _enqueue(self, pending: _Pending) -> None:
        self.ended = pending.last
        self.queue.append(pending)
        if len(self.queue) > self.max_queued:
            self.max_queued = len(self.queue)
        if not self.answering():
            self.worker = asyncio.get_running_loop().create_task(self._serve())

    # ------------------------------------------------------------------------------------- responses

    async def _serve(self) -> None:
        while self.queue and self.transport is not None:
            if self.write_paused:  # the client is not reading: answer no more until it does
                await self.writable()
                if not self.queue:  # gone meanwhile
                    return
            pending = self.queue.popleft()
            if self.backlog:
                self.refill()
            if pending.error:
                self._answer_error(pending.error)
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
                self.linger(transport)
                return
            if not pending.keep_alive:
                transport.close()
                return
        self.arm_idle()

    def _answer_error(self, status: int) -> None:
        transport = self.transport
        if transport is None:
            return
        body = error_body(status)
        head = self._head(status, [("content-type", "application/json")], len(body), new_request_id(), False)
        transport.write(head + body)
        if status == 431:  # the client may be mid-send: give it time to read the answer before the close
            self.linger(transport)
        else:
            transport.close()

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


async def serve(api: HttpApi, sock: socket.socket, limits: Limits = Limits()) -> asyncio.Server:  # noqa: B008
    """Serve ``api`` on an already bound, listening socket."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: HttpApiProtocol(api, limits), sock=sock)
