"""The SQS event source mapping on its own: a real queue (moto, in process) and a stand-in function, so a failure
here points at ``stratus.local.sqs_source`` rather than at the whole stack.

AWS: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html and services-sqs-errorhandling.html."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stratus.local.runtime.function import InvokeResult, TooManyRequests
from stratus.local.sqs_source import SqsEventSource

Answer = Callable[[list[dict[str, Any]]], "bytes | Exception | None"]


class Function:
    """Records each batch; ``answer(records)`` gives the payload, None for a function error, or an exception."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.batches: list[list[dict[str, Any]]] = []
        self.calls = 0
        self.config = type("Config", (), {"source": "worker/jobs"})()

    async def invoke(self, payload: bytes, **_: object) -> InvokeResult:
        self.calls += 1
        records = json.loads(payload)["Records"]
        outcome = self.answer(records)
        if isinstance(outcome, Exception):
            raise outcome
        self.batches.append(records)
        if outcome is None:
            return InvokeResult("req", b'{"errorMessage":"boom","errorType":"RuntimeError"}', "Unhandled", 1.0, False)
        return InvokeResult("req", outcome, None, 1.0, False)

    def bodies(self) -> list[str]:
        return [r["body"] for batch in self.batches for r in batch]


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, source: str, line: str, request_id: str | None = None) -> None:
        self.lines.append(line)


@pytest.fixture
def queue() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        yield client, url


def run(
    queue: tuple[Any, str], function: Function, until: Callable[[], bool], *, batch_size: int = 10,
    max_pollers: int = 1, report: bool = True, seconds: float = 5.0,
) -> tuple[SqsEventSource, Sink]:  # fmt: skip
    _, url = queue
    sink = Sink()
    peak = [0]

    async def main() -> SqsEventSource:
        source = SqsEventSource(
            client_factory=lambda: boto3.client("sqs", region_name="us-east-1"), queue_url=url,
            queue_arn="arn:aws:sqs:us-east-1:123456789012:jobs", region="us-east-1",
            function=function, batch_size=batch_size, batching_window=0, visibility_timeout=1,  # type: ignore[arg-type]
            max_pollers=max_pollers, sink=sink, report_batch_item_failures=report,  # type: ignore[arg-type]
        )  # fmt: skip
        source.start()
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            peak[0] = max(peak[0], source.pollers)
            await asyncio.sleep(0.02)
        await source.stop()
        source.peak = peak[0]  # type: ignore[attr-defined]
        return source

    return asyncio.run(main()), sink


def depth(queue: tuple[Any, str]) -> int:
    client, url = queue
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def send(queue: tuple[Any, str], *bodies: str, **attributes: Any) -> None:
    client, url = queue
    for body in bodies:
        client.send_message(QueueUrl=url, MessageBody=body, **attributes)


def test_a_batch_is_delivered_as_lambda_records_and_deleted_on_success(queue: tuple[Any, str]) -> None:
    send(queue, "a", "b", "c")
    send(queue, "d", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    function = Function(lambda records: b"null")
    run(queue, function, lambda: len(function.bodies()) == 4 and depth(queue) == 0)
    assert sorted(function.bodies()) == ["a", "b", "c", "d"]
    record = next(r for batch in function.batches for r in batch if r["body"] == "d")
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert record["messageAttributes"]["k"]["stringValue"] == "v" and record["md5OfMessageAttributes"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert depth(queue) == 0


def test_reported_failures_stay_in_the_queue_and_come_back(queue: tuple[Any, str]) -> None:
    send(queue, "ok", "bad")

    def answer(records: list[dict[str, Any]]) -> bytes:
        failed = [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "bad"]
        return json.dumps({"batchItemFailures": failed}).encode()

    function = Function(answer)
    _, sink = run(queue, function, lambda: function.bodies().count("bad") >= 2)
    assert function.bodies().count("ok") == 1  # deleted after its batch
    assert function.bodies().count("bad") >= 2  # visible again after the visibility timeout
    again = [r for batch in function.batches for r in batch if r["body"] == "bad"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in again[:2]] == ["1", "2"]
    assert any("reported failed" in line for line in sink.lines)


def test_without_report_batch_item_failures_a_successful_batch_is_deleted_whole(queue: tuple[Any, str]) -> None:
    send(queue, "ok", "bad")
    function = Function(lambda records: json.dumps({"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in records if r["body"] == "bad"]}).encode())  # fmt: skip
    run(queue, function, lambda: len(function.bodies()) >= 2 and depth(queue) == 0, report=False)
    assert sorted(function.bodies()) == ["bad", "ok"]
    assert depth(queue) == 0


def test_a_function_error_deletes_nothing(queue: tuple[Any, str]) -> None:
    send(queue, "x")
    function = Function(lambda records: None)
    _, sink = run(queue, function, lambda: len(function.batches) >= 2)
    assert function.bodies()[:2] == ["x", "x"]  # the whole batch returned to the queue
    assert depth(queue) == 1
    assert any("failed" in line and "visibility timeout" in line for line in sink.lines)


def test_a_throttled_batch_is_retried_and_then_left_to_the_queue(queue: tuple[Any, str]) -> None:
    send(queue, "x")
    throttled = Function(lambda records: TooManyRequests("reserved concurrency"))
    run(queue, throttled, lambda: throttled.calls >= 20, seconds=3)
    assert throttled.calls >= 20 and throttled.batches == []
    assert depth(queue) == 1  # never deleted, never lost


def test_full_batches_add_pollers_up_to_the_functions_concurrency(queue: tuple[Any, str]) -> None:
    client, url = queue
    client.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})  # no redelivery under load
    send(queue, *[f"m{i}" for i in range(60)])

    def slow(records: list[dict[str, Any]]) -> bytes:
        time.sleep(0.05)
        return b"{}"

    function = Function(slow)
    source, _ = run(queue, function, lambda: len(function.bodies()) >= 60 and depth(queue) == 0, batch_size=2,
                    max_pollers=3)  # fmt: skip
    assert sorted(function.bodies()) == sorted(f"m{i}" for i in range(60))
    assert source.peak == 3  # type: ignore[attr-defined]
    assert source.pollers == 0  # stopped: every poller ended
