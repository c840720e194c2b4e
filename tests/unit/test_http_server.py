"""The HTTP API's own HTTP/1.1 server, spoken to over a real socket, byte for byte."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local import http_server


class EchoApi:
    """Stands in for HttpApi: answers with what it received."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []

    async def respond(self, request: HttpRequest, request_id: str, *, too_large: bool = False) -> HttpResponse:
        if too_large:
            return HttpResponse(413, [("content-type", "application/json")], b'{"message":"Request Entity Too Large"}')
        self.requests.append(request)
        await asyncio.sleep(0.01 if request.raw_path == "/slow" else 0)
        body = f"{request.method} {request.raw_path}?{request.raw_query} {len(request.body)}".encode()
        return HttpResponse(200, [("content-type", "text/plain")], body)


async def exchange(payload: bytes, api: Any, *, read_until: bytes = b"", timeout: float = 5) -> bytes:
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
        server.close()


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
