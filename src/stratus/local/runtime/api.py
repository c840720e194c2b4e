"""The Lambda Runtime API (``2018-06-01``) that a runtime client (awslambdaric) polls, one listener per
execution environment, exactly as each Lambda sandbox has its own ``AWS_LAMBDA_RUNTIME_API``.

Endpoints (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

- ``GET  /2018-06-01/runtime/invocation/next``            long-polls for the next event
- ``POST /2018-06-01/runtime/invocation/{id}/response``   the handler's result -> 202
- ``POST /2018-06-01/runtime/invocation/{id}/error``      the handler raised -> 202
- ``POST /2018-06-01/runtime/init/error``                 the handler could not be loaded -> 202

This is on the path of every invocation, so it is a bare asyncio protocol over httptools writing each
response in one ``write`` (asyncio sets TCP_NODELAY: without it Nagle costs ~40-88 ms a round trip).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httptools

_PREFIX = b"/2018-06-01/runtime/"
_REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
    500: "Error",
}  # fmt: skip
_ANSWERS = {  # the Runtime API's refusals of a result post (runtime API spec: 400, 403, 413)
    400: b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}',
    403: b'{"errorMessage":"The invocation\'s result was already posted","errorType":"InvalidStateTransition"}',
    413: b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
    b'"errorType":"RequestEntityTooLarge"}',
}


@dataclass(slots=True)
class Invocation:
    """One event on its way to a runtime, and the future its outcome lands in."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    future: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def headers(self) -> bytes:
        lines = [
            b"HTTP/1.1 200 OK",
            b"Content-Type: application/json",
            b"Lambda-Runtime-Aws-Request-Id: " + self.request_id.encode(),
            b"Lambda-Runtime-Deadline-Ms: " + str(self.deadline_ms).encode(),
            b"Lambda-Runtime-Invoked-Function-Arn: " + self.function_arn.encode(),
            b"Lambda-Runtime-Trace-Id: " + self.trace_id.encode(),
            b"Content-Length: " + str(len(self.payload)).encode(),
        ]
        if self.client_context:
            lines.append(b"Lambda-Runtime-Client-Context: " + self.client_context.encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of an invocation: the payload, and the function error (``Unhandled``) if it failed."""

    payload: bytes
    error_type: str | None = None
    fault: str | None = None  # what REPORT names when the environment failed: "timeout", "Runtime.ExitError"

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class RuntimeApiBackend(Protocol):
    """What the Runtime API calls into: the execution environment it serves."""

    def next_invocation(self, deliver: Callable[[Invocation], None]) -> None: ...
    def invocation_result(self, request_id: str, outcome: Outcome) -> int: ...
    def init_error(self, body: bytes, error_type: str | None) -> None: ...


def _reply(transport: asyncio.BaseTransport, status: int, body: bytes = b'{"status":"OK"}') -> None:
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    transport.write(head.encode() + body)  # type: ignore[attr-defined]


class RuntimeApiConnection(asyncio.Protocol):
    """One HTTP/1.1 connection from a runtime client."""

    def __init__(self, backend: RuntimeApiBackend) -> None:
        self.backend = backend
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._error_type: bytes | None = None
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                _reply(self.transport, 400, b'{"errorMessage":"malformed request"}')
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._error_type = None
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"lambda-runtime-function-error-type":
            self._error_type = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None:
            return
        method = self.parser.get_method()
        url = self._url
        if not url.startswith(_PREFIX):
            _reply(transport, 404, b'{"errorMessage":"unknown path"}')
            return
        route = url[len(_PREFIX) :]
        body = b"".join(self._body)
        error_type = self._error_type.decode() if self._error_type else None
        if method == b"GET" and route == b"invocation/next":
            self.backend.next_invocation(self._deliver)
        elif method == b"POST" and route.startswith(b"invocation/"):
            request_id, _, action = route[len(b"invocation/") :].partition(b"/")
            if action == b"response":
                outcome = Outcome(body)
            elif action == b"error":
                outcome = Outcome(body, error_type or "Unhandled")
            else:
                _reply(transport, 404, b'{"errorMessage":"unknown path"}')
                return
            status = self.backend.invocation_result(request_id.decode(), outcome)
            _reply(transport, status, _ANSWERS.get(status, b'{"status":"OK"}'))
        elif method == b"POST" and route == b"init/error":
            self.backend.init_error(body, error_type)
            _reply(transport, 202)
        else:
            _reply(transport, 404, b'{"errorMessage":"unknown path"}')

    def _deliver(self, invocation: Invocation) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(invocation.headers() + invocation.payload)


async def serve(backend: RuntimeApiBackend, host: str = "127.0.0.1") -> tuple[asyncio.Server, int]:
    """Listen for one environment's runtime on a free port; returns the server and its port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RuntimeApiConnection(backend), host, 0)
    port = server.sockets[0].getsockname()[1]
    return server, int(port)
