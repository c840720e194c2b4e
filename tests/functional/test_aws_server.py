"""The embedded AWS as a long-running server: it keeps its connections between calls, as AWS's endpoints do, and
its memory does not grow with the calls it serves.

werkzeug's server closed every connection after one response, so each AWS call of a function opened a TCP
connection and started a server thread; moto kept every model object it ever made (each message, each copy of an
item) for its dashboard. These tests talk to a real ``stratus.local.aws_server`` over real sockets.
"""

from __future__ import annotations

import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
from botocore.config import Config
from werkzeug.serving import DechunkedInput

from stratus.local.aws_server import read_ahead


def sqs(aws_endpoint: tuple[str, int], **config: Any) -> Any:
    host, port = aws_endpoint
    return boto3.client(
        "sqs", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing", config=Config(**config),
    )  # fmt: skip


def local_ports(client: Any) -> set[int]:
    """The local ports of the connections botocore's pool holds now (a new connection has a new port)."""
    manager = client._endpoint.http_session._manager
    return {
        conn.sock.getsockname()[1]
        for pool in manager.pools._container.values()
        for conn in list(pool.pool.queue)
        if conn is not None and conn.sock is not None
    }


def read_response(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 response (status line, headers, body by Content-Length or chunks) from ``sock``."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection: {buffer!r}"
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.decode().lower(): v.decode().strip() for k, _, v in (line.partition(b":") for line in lines)}

    def more(n: int) -> None:
        nonlocal rest
        while len(rest) < n:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection mid-response"
            rest += chunk

    if "content-length" in headers:
        length = int(headers["content-length"])
        more(length)
        return status, headers, rest[:length]
    assert headers.get("transfer-encoding") == "chunked", headers
    body = b""
    while True:
        while b"\r\n" not in rest:
            more(len(rest) + 1)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        more(size + 2)
        body, rest = body + rest[:size], rest[size + 2 :]
        if size == 0:
            return status, headers, body


def test_a_clients_aws_calls_share_one_connection(aws_endpoint: tuple[str, int]) -> None:
    client = sqs(aws_endpoint)
    url = client.create_queue(QueueName="kept-alive")["QueueUrl"]
    ports = set()
    for i in range(30):
        client.send_message(QueueUrl=url, MessageBody=f"m{i}")
        ports |= local_ports(client)
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "30"
    assert len(ports) == 1  # 30 calls, one connection (werkzeug's server closed each: 30 connections)


def test_a_body_the_application_does_not_read_does_not_spill_into_the_next_request(
    aws_endpoint: tuple[str, int],
) -> None:
    with socket.create_connection(aws_endpoint, timeout=10) as sock:
        # moto's dashboard route never reads a body; a plain or a chunked one must not be parsed as a request
        junk = b"GET /not-a-request HTTP/1.1\r\n\r\n"
        sock.sendall(b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s" % (len(junk), junk))
        status, headers, _ = read_response(sock)
        assert status.startswith(b"HTTP/1.1 ") and headers.get("connection") != "close"
        sock.sendall(
            b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(junk), junk)
        )
        second, _, _ = read_response(sock)
        assert second == status
        # the connection still serves real calls: the moto API's reset answers 200
        sock.sendall(b"POST /moto-api/reset HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        third, _, _ = read_response(sock)
        assert third.startswith(b"HTTP/1.1 200")


def test_concurrent_clients_are_all_answered_over_kept_connections(aws_endpoint: tuple[str, int]) -> None:
    client = sqs(aws_endpoint, max_pool_connections=8)
    url = client.create_queue(QueueName="concurrent")["QueueUrl"]

    def send(i: int) -> str:
        return str(client.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(send, range(200)))
    assert len(set(ids)) == 200
    received: set[str] = set()
    while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        received |= {m["MessageId"] for m in batch}
        client.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)]
        )
    assert received == set(ids)


def live_models(aws_endpoint: tuple[str, int], service: str, model: str) -> int:
    """Objects of a moto model its dashboard lists (``/moto-api/data.json``: every one moto tracks)."""
    host, port = aws_endpoint
    data = httpx.get(f"http://{host}:{port}/moto-api/data.json", timeout=30).json()
    return len(data.get(service, {}).get(model, []))


def test_messages_and_item_copies_are_not_kept_once_gone(aws_endpoint: tuple[str, int]) -> None:
    client = sqs(aws_endpoint)
    url = client.create_queue(QueueName="churn", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    host, port = aws_endpoint
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    dynamodb.create_table(
        TableName="churn", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    dynamodb.put_item(TableName="churn", Item={"k": {"S": "one"}, "n": {"N": "0"}})
    messages, items = live_models(aws_endpoint, "sqs", "Message"), live_models(aws_endpoint, "dynamodb", "Item")
    for i in range(100):
        client.send_message(QueueUrl=url, MessageBody=f"m{i}")
        message = client.receive_message(QueueUrl=url)["Messages"][0]
        client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        dynamodb.update_item(
            TableName="churn", Key={"k": {"S": "one"}}, UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )  # fmt: skip
    # 100 messages sent, received (a copy each) and deleted; 100 updates (two copies of the item each): none kept
    # once their visibility timeout has passed (the store forgets a deleted in-flight message at that time)
    time.sleep(1.2)
    assert client.receive_message(QueueUrl=url).get("Messages") is None
    assert live_models(aws_endpoint, "sqs", "Message") <= messages  # the earlier tests' ones, or fewer
    assert live_models(aws_endpoint, "dynamodb", "Item") <= items + 1  # the item, and a copy not yet collected at most
    assert dynamodb.get_item(TableName="churn", Key={"k": {"S": "one"}})["Item"]["n"] == {"N": "100"}
    # a message deleted a moment ago can be deleted again with its receipt handle, as in SQS
    client.send_message(QueueUrl=url, MessageBody="again")
    handle = client.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    client.delete_message(QueueUrl=url, ReceiptHandle=handle)
    client.delete_message(QueueUrl=url, ReceiptHandle=handle)


def test_a_queue_remembers_the_receipt_handles_of_its_last_deleted_messages_only() -> None:
    from stratus.local.sqs_store import RecentHandles

    handles = RecentHandles(limit=3)
    handles.update(["a", "b"])
    handles.update(["c", "d"])
    assert "a" not in handles and all(h in handles for h in "bcd") and len(handles) == 3


class _Counting(io.BytesIO):
    """A client's connection: counts what the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        n = super().readinto(buffer)
        self.taken += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.taken += len(line)
        return line


def _chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_within_the_limit_is_read_ahead_and_the_connection_kept() -> None:
    body = bytes(range(200)) * 3
    stream, keep = read_ahead(DechunkedInput(_Counting(_chunked(body))), "", True, limit=1000)
    assert keep and stream.read() == body


def test_a_chunked_body_over_the_limit_is_not_read_whole_ahead_and_still_reaches_the_application_whole() -> None:
    body = bytes(range(256)) * 40  # 10,240 bytes
    client = _Counting(_chunked(body))
    stream, keep = read_ahead(DechunkedInput(client), "", True, limit=1000)
    assert not keep  # streamed: the connection closes after the response, as for any body over the limit
    assert client.taken < 2 * 1000  # read ahead: the limit and a chunk's framing, not the 10 kB
    assert stream.read() == body


def test_a_body_over_the_limit_by_its_content_length_is_left_to_stream() -> None:
    client = _Counting(b"x" * 50)
    stream, keep = read_ahead(client, "50", False, limit=10)
    assert (stream, keep, client.taken) == (client, False, 0)
    stream, keep = read_ahead(_Counting(b"y" * 10), "10", False, limit=10)
    assert keep and stream.read() == b"y" * 10


def test_the_embedded_aws_serves_on_the_port_it_holds_even_when_a_picked_port_is_taken(monkeypatch) -> None:
    # GIVEN a server that answers 404 to everything (as a Lambda runtime API listener does) on the very port a
    # "find a free port, bind it later" would pick: the race a clean-clone CI run lost once
    import asyncio
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from stratus.local import processes
    from stratus.local.aws import LocalAws
    from stratus.local.logs import LogSink

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    squatter = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    Thread(target=squatter.serve_forever, daemon=True).start()
    monkeypatch.setattr(processes, "free_port", lambda host="127.0.0.1": squatter.server_address[1])
    aws = LocalAws(LogSink(io.StringIO()), "us-east-1", iam=False)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(aws.start())
        # WHEN an AWS call is made to the endpoint it reports THEN moto answers it, not the squatter
        assert aws.port != squatter.server_address[1]
        assert aws.client("sqs").create_queue(QueueName="q")["QueueUrl"].endswith("/q")
    finally:
        loop.run_until_complete(aws.stop())
        loop.close()
        squatter.shutdown()
        squatter.server_close()
