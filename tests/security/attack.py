"""What the attack suites (test_token_attacks, test_path_variants, test_request_framing) share: clients bound to a
source address of their own, and a raw HTTP/1.1 exchange over a socket, for requests no HTTP client would send.

:func:`exchange` sends bytes exactly as given and parses what comes back itself: status lines, headers and bodies
framed by ``content-length`` (the local HTTP API always sends one), interim ``1xx`` answers kept apart. It stops when
the server closes the connection, when ``until`` final responses have arrived, or after a few seconds: a case that
leaves the connection open must not hang the suite.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.devstack import DevStack

TIMEOUT_S = 4.0  # per exchange: every refusal the emulator makes takes milliseconds
UNAUTHORIZED = {"message": "Unauthorized"}  # API Gateway: an identity source is missing (authorizer not called)
FORBIDDEN = {"message": "Forbidden"}  # API Gateway: the Lambda authorizer denied
REFUSED = (401, 403)


def api_key(stack: DevStack) -> str:
    """The key `stratus apikey create` made for the session's stack (tests/conftest.py)."""
    return str(stack.api_key)  # type: ignore[attr-defined]


def client_from(stack: DevStack, address: str, **headers: str) -> httpx.Client:
    """A client whose requests come from ``address`` (the HTTP API's sourceIp), so per-IP limits stay apart."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=stack.url, transport=transport, headers=headers, timeout=30)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def is_worker(self) -> bool:
        """Written by the worker service itself: its health and root bodies name it."""
        return b'"service":"worker"' in self.body.replace(b" ", b"")

    def __str__(self) -> str:
        return f"{self.status} {self.body[:200]!r}"


@dataclass
class Exchange:
    responses: list[RawResponse] = field(default_factory=list)  # final responses, in order
    interim: list[int] = field(default_factory=list)  # 1xx statuses (100 Continue)
    closed: bool = False  # the server closed the connection (or reset it)
    raw: bytes = b""

    @property
    def statuses(self) -> list[int]:
        return [response.status for response in self.responses]

    def __str__(self) -> str:
        return f"statuses={self.statuses} interim={self.interim} closed={self.closed} raw={self.raw[:600]!r}"


def _parse(buffer: bytes) -> tuple[list[RawResponse], list[int]]:
    """The complete responses at the start of ``buffer`` (an incomplete last one is left out)."""
    responses: list[RawResponse] = []
    interim: list[int] = []
    while buffer:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = buffer[:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if version != "HTTP/1.1" or not rest[:3].isdigit():
            raise AssertionError(f"not an HTTP/1.1 status line: {lines[0]!r} in {buffer[:300]!r}")
        status = int(rest[:3])
        fields = (line.partition(":") for line in lines[1:])
        headers = [(name.strip().lower(), value.strip()) for name, _, value in fields]
        if status < 200:
            interim.append(status)
            buffer = buffer[end + 4 :]
            continue
        length = int(next((value for name, value in headers if name == "content-length"), "0"))
        start = end + 4
        if len(buffer) < start + length:
            break
        responses.append(RawResponse(status, headers, buffer[start : start + length]))
        buffer = buffer[start + length :]
    return responses, interim


def exchange(
    stack: DevStack, data: bytes | list[bytes], *, source: str, until: int | None = None, timeout: float = TIMEOUT_S
) -> Exchange:
    """Send ``data`` on one connection from ``source``; a list is sent part by part, each after the previous
    part's response arrived (requests in sequence on a kept-alive connection, not pipelined)."""
    parts = data if isinstance(data, list) else [data]
    buffer = b""
    closed = False
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout, source_address=(source, 0))
    deadline = time.monotonic() + timeout
    try:
        for number, part in enumerate(parts, start=1):
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):  # the server hung up before reading it all
                closed = True
                break
            wanted = until if number == len(parts) else number
            while not closed:
                if wanted is not None and len(_parse(buffer)[0]) >= wanted:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                except ConnectionResetError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                buffer += chunk
    finally:
        sock.close()
    responses, interim = _parse(buffer)
    return Exchange(responses, interim, closed, buffer)


def request(
    target: bytes | str,
    *headers: bytes | str,
    method: bytes = b"GET",
    version: bytes = b" HTTP/1.1",
    body: bytes = b"",
    host: bool = True,
    close: bool = True,
) -> bytes:
    """One request, byte for byte: ``headers`` are whole lines without their CRLF."""
    target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [method + b" " + target + version]
    if host:
        lines.append(b"Host: 127.0.0.1")
    lines.extend(line.encode("latin-1") if isinstance(line, str) else line for line in headers)
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def assert_still_serving(stack: DevStack, source: str) -> None:
    """After an attack, the server still answers a normal request, on a new connection."""
    key = api_key(stack)
    after = exchange(stack, request("/worker/health", f"x-api-key: {key}"), source=source, until=1)
    assert after.statuses == [200] and after.responses[0].is_worker(), f"the server stopped serving: {after}"
