"""Request framing attacks on the local HTTP API's server (src/stratus/local/http_server.py, httptools), over raw
sockets: ambiguous message lengths, malformed header lines, odd request lines, and pipelines that try to smuggle an
unauthenticated request to the API-key-protected worker (`/worker`) behind an authenticated one.

One parser reads the requests and each request is authorized on its own headers, so a smuggled request can only
ever be answered as what it is: a request without a key. What must hold:

- a malformed or ambiguous request is answered with a 4xx (or the connection is closed), even when it carries a
  valid API key: the refusal is the parser's, not only the authorizer's;
- a request the parser accepts in an odd spelling (HTTP/0.9, no Host, ...) still meets the authorizer;
- in a pipeline, no response after the first (the authenticated one) is a 2xx, and a request hidden in a body is
  never answered at all;
- never a 5xx, and the server keeps serving afterwards (a normal request on a new connection succeeds);
- a key sent only as a chunked trailer authenticates nothing (trailers are dropped, never merged into the headers);
- a header section over the HTTP API's 10,240-byte quota is refused (431), with whatever was pipelined behind it.

The same cases run twice: against the whole stack (``repo_stack``, marked e2e), and against the server alone, in
process (``local``: http_server.serve with a stand-in for the HTTP API that records what reaches the integration),
where what the integration saw can be checked: never a request carrying the key that the parser should have refused,
never more requests than the client framed, never a request smuggled in a body. The in-process server also has short
deadlines, so that half-sent requests (408) and clients that leave mid-request can be checked in milliseconds: no
connection, timer or task is left behind.

Requests come from 127.0.0.86 (the attacks) and 127.0.0.87 (the checks that the server still serves).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from stratus.events.httpapi import HttpRequest, HttpResponse, gateway_error
from stratus.local import http_limits, http_server
from tests.e2e.devstack import DevStack
from tests.security.attack import UNAUTHORIZED, Exchange, api_key, assert_still_serving, exchange, request

SOURCE = "127.0.0.86"
AFTER = "127.0.0.87"
KEY = b"<KEY>"  # replaced by the stack's API key when sent

# A request without a key: what every smuggling attempt below tries to get answered with a 2xx.
SMUGGLED = request("/worker/health")


def keyed(
    *lines: bytes | str,
    method: bytes = b"GET",
    version: bytes = b" HTTP/1.1",
    body: bytes = b"",
    close: bool = False,
) -> bytes:
    """A GET /worker/health with the valid API key: if its framing were accepted, the worker would answer 200."""
    return request(
        b"/worker/health", b"x-api-key: " + KEY, *lines, method=method, version=version, body=body, close=close
    )


# Each must be answered with 4xx only, or a closed connection.
REFUSED = {
    # --- ambiguous length (the classic CL.TE / TE.CL desyncs), each with a valid key and a smuggled request behind
    # Content-Length and Transfer-Encoding together: RFC 9112 6.3 lets a server reject it, and a proxy in front may
    # frame by the other one
    "content-length-and-chunked": keyed(
        "Content-Length: 4", "Transfer-Encoding: chunked", body=b"0\r\n\r\n" + SMUGGLED
    ),
    "chunked-and-content-length": keyed(
        "Transfer-Encoding: chunked", "Content-Length: 40", body=b"0\r\n\r\n" + SMUGGLED
    ),
    # two Content-Lengths that differ: which one frames the body?
    "two-content-lengths": keyed("Content-Length: 0", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED),
    # a list of lengths in one header
    "content-length-list": keyed(f"Content-Length: 0, {len(SMUGGLED)}", body=SMUGGLED),
    # chunked not the final coding: the length cannot be determined (RFC 9112 6.3)
    "chunked-then-identity": keyed("Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n" + SMUGGLED),
    # codings that are not chunked: unknown, or not framing the body at all
    "coding-xchunked": keyed("Transfer-Encoding: xchunked", body=b"0\r\n\r\n" + SMUGGLED),
    "coding-gzip-only": keyed("Transfer-Encoding: gzip", body=b"0\r\n\r\n" + SMUGGLED),
    # two Transfer-Encoding lines, the last not chunked
    "transfer-encoding-twice": keyed("Transfer-Encoding: chunked", "Transfer-Encoding: identity", body=b"0\r\n\r\n"),
    # whitespace between the field name and the colon (RFC 9112 5.1: MUST reject)
    "space-before-colon": keyed("Transfer-Encoding : chunked", body=b"0\r\n\r\n" + SMUGGLED),
    # --- invalid chunks
    "chunk-size-not-hex": keyed("Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-negative": keyed("Transfer-Encoding: chunked", body=b"-1\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-overflow": keyed("Transfer-Encoding: chunked", body=b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-0x-prefix": keyed("Transfer-Encoding: chunked", body=b"0x3\r\nabc\r\n0\r\n\r\n"),
    "chunk-longer-than-its-size": keyed("Transfer-Encoding: chunked", body=b"3\r\nabcdef\r\n0\r\n\r\n" + SMUGGLED),
    "chunk-lines-bare-lf": keyed("Transfer-Encoding: chunked", body=b"3\nabc\n0\n\n" + SMUGGLED),
    # --- invalid Content-Length values
    "content-length-negative": keyed("Content-Length: -1"),
    "content-length-overflow": keyed("Content-Length: 99999999999999999999999"),
    "content-length-plus-sign": keyed("Content-Length: +4", body=b"abcd"),
    "content-length-with-space": keyed("Content-Length: 1 0", body=b"abcdefghij"),
    # --- header lines: each hides the key where a lenient parser would find it, or breaks the line with it
    # obs-fold: a continuation line (RFC 9112 5.2: reject, or replace by a space; never a new field)
    "obs-fold-continuation": request("/worker/health", "X-Note: a", b" x-api-key: " + KEY),
    # a space inside the field name
    "space-in-header-name": request("/worker/health", b"x-api key: " + KEY),
    # a colon inside the "name": the name is "x", the key only text in its value
    "colon-in-header-name": request("/worker/health", b"x:api-key: " + KEY),
    # NUL in a name, and in a value next to the key
    "nul-in-header-name": keyed("X-No\x00te: a", close=True),
    "nul-in-header-value": request("/worker/health", b"x-api-key: " + KEY + b"\x00"),
    # a bare CR or LF inside a value, followed by the key as if it were a line of its own
    "cr-in-header-value": request("/worker/health", b"X-Note: a\rx-api-key: " + KEY),
    "lf-in-header-value": request("/worker/health", b"X-Note: a\nx-api-key: " + KEY),
    # bare LF line endings throughout
    "bare-lf-line-endings": keyed(close=True).replace(b"\r\n", b"\n"),
    # --- request lines
    "lowercase-method": keyed(method=b"get", close=True),
    "unknown-method": keyed(method=b"FOO", close=True),
    "very-long-method": keyed(method=b"G" * 4096, close=True),
    "lowercase-http-version": keyed(version=b" http/1.1", close=True),
    "tab-separated-request-line": keyed(close=True).replace(b"GET ", b"GET\t", 1),
    "connect-method": request("127.0.0.1:22", b"x-api-key: " + KEY, method=b"CONNECT"),
    # over the quota on request line + header values (10,240 bytes): a long URL, a long header, many headers
    "very-long-url": request(b"/worker/health?" + b"q" * 11_000, b"x-api-key: " + KEY),
    "header-section-over-quota": keyed("X-Big: " + "a" * 11_000, close=False) + SMUGGLED,
    "many-headers-over-quota": keyed(*(f"X-{i}: {'v' * 60}" for i in range(200)), close=False) + SMUGGLED,
    # HTTP/2 with prior knowledge, and an h2c upgrade (a tunnel past the HTTP/1.1 parser)
    "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "h2c-upgrade": keyed(
        "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"
    ),
    "websocket-upgrade": keyed("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13"),
    # a TLS ClientHello on the plain HTTP port
    "tls-client-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(64),
    # --- spellings the parser accepts: without a key, the authorizer must still refuse them
    "http-0.9-request-line": b"GET /worker/health\r\n\r\n",
    "http-2.0-request-line": request("/worker/health", version=b" HTTP/2.0"),
    "http-1.0": request("/worker/health", version=b" HTTP/1.0"),
    "missing-host": request("/worker/health", host=False),
    "two-hosts": request("/worker/health", "Host: worker.internal"),
    "trace-method": request("/worker/health", method=b"TRACE"),
    # Expect: 100-continue is answered "100 Continue" before the authorizer runs; the request is still refused
    "expect-100-continue": request(
        "/worker/jobs", "Expect: 100-continue", "Content-Type: application/json", "Content-Length: 2", method=b"POST"
    )
    + b"{}",
}


def _send(stack: DevStack, data: bytes | list[bytes], until: int | None = None) -> Exchange:
    key = api_key(stack).encode()
    parts = [part.replace(KEY, key) for part in (data if isinstance(data, list) else [data])]
    return exchange(stack, parts if isinstance(data, list) else parts[0], source=SOURCE, until=until)


@pytest.mark.e2e
@pytest.mark.parametrize("case", REFUSED)
def test_a_malformed_or_smuggling_request_is_refused(repo_stack: DevStack, case: str) -> None:
    result = _send(repo_stack, REFUSED[case])
    # THEN every answer is a 4xx, or the server hangs up: never a 2xx, never a 5xx, never the worker's body
    assert result.responses or result.closed, result
    for response in result.responses:
        assert 400 <= response.status < 500, (case, str(result))
        assert not response.is_worker(), (case, str(result))
    # AND the server still serves everyone else
    assert_still_serving(repo_stack, AFTER)


# Pipelines: the first request carries the key (it may be answered 2xx); what follows it on the connection has no
# key. Each case: (bytes, or parts sent one after the other's answer; how many answers at most).
PIPELINES: dict[str, tuple[bytes | list[bytes], int]] = {
    # keep-alive: authorization is per request, never per connection
    "pipelined-key-then-none": (keyed() + SMUGGLED, 2),
    "sequential-key-then-none": ([keyed(), SMUGGLED], 2),
    # valid spellings of chunked (case-insensitive, optional whitespace, chunked last): the body ends at the
    # zero chunk, so what follows is a request of its own, without a key
    "chunked-upper-case": (keyed("Transfer-Encoding: CHUNKED", body=b"0\r\n\r\n") + SMUGGLED, 2),
    "chunked-extra-space": (keyed("Transfer-Encoding:   chunked", body=b"0\r\n\r\n") + SMUGGLED, 2),
    "chunked-after-tab": (keyed("Transfer-Encoding:\tchunked", body=b"0\r\n\r\n") + SMUGGLED, 2),
    "identity-then-chunked": (keyed("Transfer-Encoding: identity, chunked", body=b"0\r\n\r\n") + SMUGGLED, 2),
    "chunk-extension": (keyed("Transfer-Encoding: chunked", body=b"3;ext=1\r\nabc\r\n0\r\n\r\n") + SMUGGLED, 2),
    # HTTP/1.0 asking for keep-alive
    "http-1.0-keep-alive": (keyed("Connection: keep-alive", version=b" HTTP/1.0") + SMUGGLED, 2),
    # Expect: 100-continue on the authenticated request
    "expect-100-then-smuggled": (keyed("Expect: 100-continue", "Content-Length: 0") + SMUGGLED, 2),
    # a request inside the body, framed by Content-Length or by chunks: body, never a request
    "request-in-content-length-body": (keyed(f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED, close=True), 1),
    "request-in-chunked-body": (
        keyed("Transfer-Encoding: chunked", body=b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n", close=True),
        1,
    ),
    # after "Connection: close" nothing more on the connection is processed (RFC 9112 9.6)
    "after-connection-close": (keyed(close=True) + SMUGGLED, 1),
    # the key only in a chunked trailer, after the body: never one of the request's headers
    "key-only-in-trailer": (
        request(
            "/worker/health",
            "Transfer-Encoding: chunked",
            body=b"3\r\nabc\r\n0\r\nx-api-key: " + KEY + b"\r\n\r\n",
            close=False,
        )
        + SMUGGLED,
        2,
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", PIPELINES)
def test_no_smuggled_request_is_served(repo_stack: DevStack, case: str) -> None:
    data, most = PIPELINES[case]
    result = _send(repo_stack, data)  # read until the server hangs up (the last request says Connection: close)
    assert result.responses or result.closed, result
    assert len(result.responses) <= most, (case, str(result))  # a request hidden in a body is never answered
    first, *later = result.responses
    # THEN the authenticated request is answered normally (or refused), never with a server error
    assert first.status < 500, (case, str(result))
    if case == "key-only-in-trailer":  # no request here carries the key in its headers: each is the API's 401
        later = result.responses
    if case.endswith("key-then-none"):  # the control: the key works, so the 401 after it is the missing key's
        assert first.status == 200 and first.is_worker(), (case, str(result))
    # AND whatever follows it is answered as what it is, a request without a key: the HTTP API's 401
    for response in later:
        assert (response.status, response.json()) == (401, UNAUTHORIZED), (case, str(result))
    assert_still_serving(repo_stack, AFTER)


# What RFC 9112 requires of a server's framing (the emulator once served both).
@pytest.mark.e2e
@pytest.mark.parametrize(
    "data",
    [request("/health", host=False), request("/health", "Host: other.example")],
    ids=["missing-host", "two-hosts"],
)
def test_an_http11_request_needs_exactly_one_host(repo_stack: DevStack, data: bytes) -> None:
    # GIVEN the gateway's public health route, which would answer 200: only the missing or doubled Host is wrong
    result = _send(repo_stack, data, until=1)
    assert result.statuses == [400], result


@pytest.mark.e2e
def test_an_http10_request_with_transfer_encoding_closes_the_connection(repo_stack: DevStack) -> None:
    data = keyed("Connection: keep-alive", "Transfer-Encoding: chunked", version=b" HTTP/1.0", body=b"0\r\n\r\n")
    result = _send(repo_stack, data + SMUGGLED, until=2)
    # THEN at most the first request is answered, and the connection is closed
    assert len(result.responses) <= 1 and result.closed, result


# ------------------------------------------------------------------------------- the server alone, in process

LOCAL_KEY = "local-key"
LIMITS = http_limits.Limits(head_timeout=0.3, body_timeout=0.3, keep_alive=2.0, linger=0.2)


@dataclass
class Recorder:
    """Stands in for HttpApi: the worker's health route behind an API key, and a record of what reached it."""

    seen: list[HttpRequest] = field(default_factory=list)

    async def respond(self, request: HttpRequest, request_id: str, *, too_large: bool = False) -> HttpResponse:
        if too_large:
            return gateway_error(413, "Request Entity Too Large")
        self.seen.append(request)
        if request.raw_path == "/slow":
            await asyncio.sleep(0.2)
        if LOCAL_KEY not in (value for name, value in request.headers if name == "x-api-key"):
            return gateway_error(401, "Unauthorized")
        return HttpResponse(200, [("content-type", "application/json")], b'{"service":"worker"}')

    def keyed(self) -> list[HttpRequest]:
        return [r for r in self.seen if any(name == "x-api-key" for name, _ in r.headers)]


@dataclass
class Local:
    """The server on a loop of its own thread; ``port`` makes it a target for tests.security.attack.exchange."""

    port: int
    recorder: Recorder
    loop: asyncio.AbstractEventLoop

    def settled(self, timeout: float = 3.0) -> None:
        """Wait until every connection is closed and no worker task is left (else fail)."""

        async def busy() -> int:
            return len(http_server.OPEN) + len(asyncio.all_tasks()) - 1

        deadline = time.monotonic() + timeout
        while asyncio.run_coroutine_threadsafe(busy(), self.loop).result():
            assert time.monotonic() < deadline, "a connection, or its worker, outlived the client"
            time.sleep(0.01)


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    http_server.OPEN.clear()  # connections of other tests' loops, closed before they could see their end
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    loop = asyncio.new_event_loop()
    recorder = Recorder()
    server = loop.run_until_complete(http_server.serve(recorder, listener, LIMITS))  # type: ignore[arg-type]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Local(listener.getsockname()[1], recorder, loop)
    finally:

        async def stop() -> None:
            server.close()
            for connection in list(http_server.OPEN):
                if connection.transport is not None:
                    connection.transport.abort()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _local_send(
    local: Local, data: bytes | list[bytes], until: int | None = None
) -> tuple[Exchange, list[HttpRequest]]:
    local.recorder.seen.clear()
    key = LOCAL_KEY.encode()
    parts = [part.replace(KEY, key) for part in (data if isinstance(data, list) else [data])]
    result = exchange(local, parts if isinstance(data, list) else parts[0], source=SOURCE, until=until, timeout=2.0)  # type: ignore[arg-type]
    local.settled()
    return result, list(local.recorder.seen)


@pytest.mark.parametrize("case", REFUSED)
def test_the_parser_refuses_before_the_integration_sees_the_key(local: Local, case: str) -> None:
    result, seen = _local_send(local, REFUSED[case])
    assert result.responses or result.closed, result
    for response in result.responses:
        assert 400 <= response.status < 500 and not response.is_worker(), (case, str(result))
    # THEN the integration saw no request carrying the key, and never more than one request
    assert len(seen) <= 1, (case, [(r.method, r.raw_path) for r in seen])
    assert not [r for r in seen if any(v == LOCAL_KEY for n, v in r.headers if n == "x-api-key")], case


@pytest.mark.parametrize("case", PIPELINES)
def test_the_integration_sees_only_the_requests_the_client_framed(local: Local, case: str) -> None:
    data, most = PIPELINES[case]
    result, seen = _local_send(local, data)
    assert len(result.responses) <= most and len(seen) <= most, (case, str(result))
    assert all(response.status < 500 for response in result.responses), (case, str(result))
    # THEN only the first request ever carries the key, and every request is one the client framed as a request
    assert all(r.raw_path == "/worker/health" for r in seen), (case, [r.raw_path for r in seen])
    assert not any(dict(r.headers).get("x-api-key") for r in seen[1:]), case
    if case == "key-only-in-trailer":
        assert [r.headers for r in seen if "x-api-key" in dict(r.headers)] == [], case
        assert result.statuses == [401, 401], (case, str(result))


@pytest.mark.parametrize(
    "data",
    [
        b"GET /worker/health HTTP/1.1\r\nHost: h\r\nx-api-key: ",  # headers never finished
        b"POST /worker/health HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n" + SMUGGLED[:10],  # body neither
        b"POST /worker/health HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + SMUGGLED[:20],
    ],
    ids=["half-sent-headers", "half-sent-body", "half-sent-chunk"],
)
def test_a_half_sent_request_is_answered_408_and_never_reaches_the_integration(local: Local, data: bytes) -> None:
    started = time.monotonic()
    result, seen = _local_send(local, data)
    assert result.statuses == [408] and result.responses[0].json() == {"message": "Request Timeout"}, result
    assert result.closed and time.monotonic() - started < 1.5
    assert seen == []


@pytest.mark.parametrize(
    "data",
    [
        b"GET /worker/health HTTP/1.1\r\nHost: h\r\nX-Pa",
        b"POST /worker/health HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nabc",
        request("/slow", f"x-api-key: {LOCAL_KEY}", close=False) * 3,  # leaves while the integration runs
    ],
    ids=["mid-headers", "mid-body", "mid-integration"],
)
def test_clients_leaving_mid_request_leave_nothing_behind(local: Local, data: bytes) -> None:
    local.recorder.seen.clear()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", local.port), source_address=(SOURCE, 0)) as sock:
            sock.sendall(data)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    local.settled()  # THEN every connection is gone and no worker waits: the 408 deadlines were cancelled too
    assert len(local.recorder.seen) <= 20  # at most the first of each pipeline: the rest died with the client


def test_the_server_still_serves_after_the_attacks(local: Local) -> None:
    result, seen = _local_send(local, request("/worker/health", f"x-api-key: {LOCAL_KEY}"), until=1)
    assert result.statuses == [200] and result.responses[0].is_worker() and len(seen) == 1
