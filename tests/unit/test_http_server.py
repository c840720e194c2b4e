"""The HTTP API's own HTTP/1.1 server, spoken to over a real socket, byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local import http_limits, http_server
from stratus.local.httpapi.request_id import PATTERN, new_request_id


class EchoApi:
    """Stands in for HttpApi: answers with what it received."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.ids: list[str] = []

    async def respond(self, request: HttpRequest, request_id: str, *, too_large: bool = False) -> HttpResponse:
        if too_large:
            return HttpResponse(413, [("content-type", "application/json")], b'{"message":"Request Entity Too Large"}')
        self.requests.append(request)
        self.ids.append(request_id)
        await asyncio.sleep(0.01 if request.raw_path == "/slow" else 0)
        if request.raw_path == "/big":
            return HttpResponse(200, [("content-type", "text/plain")], b"x" * (1 << 20))
        body = f"{request.method} {request.raw_path}?{request.raw_query} {len(request.body)}".encode()
        return HttpResponse(200, [("content-type", "text/plain")], body)


async def exchange(payload: bytes, api: Any, *, read_until: bytes = b"", timeout: float = 5) -> bytes:
    http_server.OPEN.clear()  # connections of earlier tests' loops, closed before they could see their end
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    server = await http_server.serve(api, listener)
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(payload)
        await writer.drain()
        data = b""
        while not data.endswith(read_until) or not read_until:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            data += chunk
            if read_until and data.count(read_until) and data.endswith(read_until):
                break
        writer.close()
        await writer.wait_closed()
        return data
    finally:
        await shutdown(server)


async def shutdown(server: asyncio.Server) -> None:
    """Stop listening and drop the connections still open (a lingering 413/431), so none outlives the loop."""
    server.close()
    for connection in list(http_server.OPEN):
        if connection.transport is not None:
            connection.transport.abort()
    await server.wait_closed()
    await asyncio.sleep(0)


def run(payload: bytes, api: Any | None = None, read_until: bytes = b"") -> bytes:
    return asyncio.run(exchange(payload, api or EchoApi(), read_until=read_until))


def test_a_response_is_written_whole_with_apis_headers() -> None:
    data = run(b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\ncontent-length: 12\r\n" in head and b"\r\napigw-requestid: " in head and b"\r\ndate: " in head
    assert body == b"GET /a?x=1 0"


def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    api = EchoApi()
    data = run(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", api)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.index(b"GET /slow") < data.index(b"GET /fast")
    assert [r.raw_path for r in api.requests] == ["/slow", "/fast"]


def test_chunked_bodies_are_decoded() -> None:
    data = run(
        b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    assert data.endswith(b"POST /c? 11")


def test_expect_100_continue_is_answered_before_the_body() -> None:
    data = run(
        b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc"
    )
    assert data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")


def test_head_gets_the_length_but_no_body() -> None:
    data = run(b"HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length: 10\r\n" in head + b"\r\n"
    assert body == b""


def test_a_declared_body_over_10_mb_is_413_and_the_connection_closes() -> None:
    data = run(b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 10485761\r\n\r\n" + b"x" * 1000)
    assert data.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert b"connection: close" in data


def test_a_malformed_request_is_400_and_the_connection_closes() -> None:
    data = run(b"NOT HTTP AT ALL\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert data.endswith(b'{"message":"Bad Request"}')


# ---------------------------------------------------------------------------------------------- issue 18

FAST = http_limits.Limits(head_timeout=0.2, body_timeout=0.2, keep_alive=0.5, linger=0.2)


@contextlib.asynccontextmanager
async def running(api: Any, limits: http_limits.Limits = FAST) -> AsyncIterator[tuple[str, int]]:
    http_server.OPEN.clear()  # connections of earlier tests' loops, closed before they could see their end
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    server = await http_server.serve(api, listener, limits)
    try:
        yield listener.getsockname()
    finally:
        await shutdown(server)


async def read_all(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    data = b""
    while chunk := await asyncio.wait_for(reader.read(65536), timeout):
        data += chunk
    return data


def protocol() -> http_server.HttpApiProtocol:
    (only,) = http_server.OPEN
    return only


async def no_connection_left(timeout: float = 3) -> None:
    """Every connection closed, its timers cancelled and its worker finished."""
    deadline = time.monotonic() + timeout
    while http_server.OPEN or len(asyncio.all_tasks()) > 1:
        assert time.monotonic() < deadline, (http_server.OPEN, asyncio.all_tasks())
        await asyncio.sleep(0.02)


def test_request_ids_are_shaped_like_aws_ones_and_the_header_is_the_events_id() -> None:
    # AWS samples: JKJaXmPLvHcESHA=, QQCtFipSIAMEPNQ=, RL2XYiwjPHcEMEQ= (16 characters, base64, one "=")
    for sample in ("JKJaXmPLvHcESHA=", "QQCtFipSIAMEPNQ=", "RL2XYiwjPHcEMEQ="):
        assert PATTERN.fullmatch(sample)
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000 and all(PATTERN.fullmatch(i) for i in ids)
    api = EchoApi()
    data = run(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", api)
    (header,) = re.findall(rb"\r\napigw-requestid: (\S+)\r\n", data)
    assert api.ids == [header.decode()]


def test_a_chunked_trailer_never_becomes_a_header() -> None:
    api = EchoApi()
    data = run(
        b"POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n0\r\nx-api-key: secret\r\nX-Other: 1\r\n\r\n",
        api,
    )
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"POST /t? 3")
    (request,) = api.requests
    assert [name for name, _ in request.headers] == ["host", "transfer-encoding", "connection"]


def head_of(size: int) -> bytes:
    """A GET whose request line and header values add up to ``size`` bytes (the quota's measure)."""
    line = len("GET") + len("/") + len(" HTTP/1.1") + 1  # two spaces
    return b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * (size - line - 1) + b"\r\nConnection: close\r\n\r\n"


def test_request_line_and_header_values_up_to_10240_bytes_are_served() -> None:
    assert run(head_of(http_limits.MAX_HEAD - len("close"))).startswith(b"HTTP/1.1 200 OK")


def test_a_header_section_over_10240_bytes_is_431_and_the_connection_closes() -> None:
    for payload in (
        head_of(http_limits.MAX_HEAD - len("close") + 1),
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /" + b"u" * 11_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n",  # a very long URL
        b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(4000)) + b"\r\n",  # names
    ):
        api = EchoApi()
        data = run(payload, api)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), data[:80]
        assert b"\r\nconnection: close" in head and b"\r\ncontent-type: application/json" in head
        assert body == b'{"message":"Request Header Fields Too Large"}'
        assert api.requests == []


def test_the_431_comes_after_the_answers_to_the_requests_before_it() -> None:
    api = EchoApi()
    data = run(
        b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", api
    )
    assert data.index(b"HTTP/1.1 200 OK") < data.index(b"HTTP/1.1 431 ")
    assert [r.raw_path for r in api.requests] == ["/slow"]


async def _endless_header() -> tuple[bytes, int, int]:
    async with running(EchoApi()) as address:
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"GET / HTTP/1.1\r\nHost: h\r\nX-Endless: ")
        sent = 0

        async def pump() -> None:
            nonlocal sent
            chunk = b"a" * 65536
            while sent < 200 << 20:
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()

        pumping = asyncio.create_task(pump())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        parsed = protocol().head_raw
        await asyncio.sleep(0.1)
        pumping.cancel()
        with contextlib.suppress(BaseException):
            await pumping
        writer.transport.abort()
        await no_connection_left()
        return head, parsed, sent


def test_an_endless_header_is_cut_off_near_the_limit() -> None:
    head, parsed, sent = asyncio.run(_endless_header())
    assert head.startswith(b"HTTP/1.1 431 ")
    # THEN the server parsed no more than the limit and its margin, and stopped reading: what the client got to
    # send is what the kernel's socket buffers hold, far from the 200 MB it tried
    assert parsed <= http_limits.HEAD_BUFFER
    assert sent < 40 << 20


async def _stalled(payload: bytes, trickle: bool = False) -> tuple[bytes, float]:
    async with running(EchoApi()) as address:
        reader, writer = await asyncio.open_connection(*address)
        started = time.monotonic()
        answer = asyncio.create_task(read_all(reader))
        if trickle:  # one byte at a time, never finishing: the deadline is not pushed back by each byte
            with contextlib.suppress(ConnectionError):
                for byte in payload:
                    if answer.done():
                        break
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.02)
        else:
            writer.write(payload)
        data = await answer
        elapsed = time.monotonic() - started
        writer.close()
        await no_connection_left()
        return data, elapsed


def test_a_request_line_or_headers_never_finished_get_408_then_close() -> None:
    for payload, trickle in (
        (b"GET / HTTP/1.1\r\nHost: h\r\n", False),
        (b"GE", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 200, True),
    ):
        data, elapsed = asyncio.run(_stalled(payload, trickle))
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"\r\nconnection: close" in head, data
        assert body == b'{"message":"Request Timeout"}'
        assert 0.15 < elapsed < 1.5


def test_a_body_never_finished_gets_408_then_close() -> None:
    for payload in (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ):
        data, _ = asyncio.run(_stalled(payload))
        assert data.startswith(b"HTTP/1.1 408 ") and data.endswith(b'{"message":"Request Timeout"}')


def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    data, elapsed = asyncio.run(_stalled(b""))
    assert data == b"" and 0.4 < elapsed < 2


async def _many_stalled(count: int) -> list[bytes]:
    async with running(EchoApi()) as address:
        clients = [await asyncio.open_connection(*address) for _ in range(count)]
        for i, (_, writer) in enumerate(clients):
            # partial heads, partial bodies, and clients that leave mid-request
            writer.write([b"GET / HTTP/1.1\r\nHo", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nab"][i % 2])
        await asyncio.sleep(0.05)
        for _, writer in clients[::3]:
            writer.transport.abort()
        answers = [await read_all(reader) for reader, _ in clients[1::3] + clients[2::3]]
        for _, writer in clients:
            writer.close()
        await no_connection_left()
        return answers


def test_many_stalled_connections_leave_no_connection_timer_or_task_behind() -> None:
    answers = asyncio.run(_many_stalled(60))
    assert len(answers) == 40 and all(a.startswith(b"HTTP/1.1 408 ") for a in answers)


async def _pipeline(count: int) -> tuple[bytes, int]:
    api = EchoApi()
    async with running(api) as address:
        reader, writer = await asyncio.open_connection(*address)
        requests = [b"GET /r/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(count - 1)]
        requests.append(b"GET /r/%d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" % (count - 1))
        writer.write(b"".join(requests))  # one send, no reading until it is all out
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        most = protocol().max_queued
        data = first + await read_all(reader)
        most = max(most, protocol().max_queued) if http_server.OPEN else most
        writer.close()
        await no_connection_left()
        assert [r.raw_path for r in api.requests] == [f"/r/{i}" for i in range(count)]
        return data, most


def test_a_thousand_pipelined_requests_are_answered_in_order_through_a_bounded_queue() -> None:
    data, most = asyncio.run(_pipeline(1000))
    bodies = re.findall(rb"GET (/r/\d+)\? 0", data)
    assert bodies == [b"/r/%d" % i for i in range(1000)]
    assert data.count(b"HTTP/1.1 200 OK") == 1000
    # THEN the queue filled (the test pipelined for real) and never passed its bound
    assert 3 <= most <= http_limits.MAX_QUEUED


async def _not_reading(count: int) -> tuple[int, int, bytes]:
    api = EchoApi()
    async with running(api) as address:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.connect(address)
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n" * (count - 1)
            + b"GET /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )
        await asyncio.sleep(0.5)  # the client reads nothing meanwhile
        transport = protocol().transport
        assert transport is not None
        buffered, answered = transport.get_write_buffer_size(), len(api.requests)
        first = await reader.readexactly(1 << 16)
        writer.transport.abort()  # and the client leaves, while the server waits for it to read
        await no_connection_left()
        return buffered, answered, first


def test_a_client_that_does_not_read_stops_the_server_from_answering_more() -> None:
    buffered, answered, first = asyncio.run(_not_reading(60))
    # THEN the server stopped at its write buffer's high-water mark (one 1 MB answer past it at most), not 60 MB
    assert buffered < 2 << 20 and answered < 20, (buffered, answered)
    assert first.startswith(b"HTTP/1.1 200 OK")
