"""SQS -> Lambda event source mapping, as Lambda's pollers run it
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, services-sqs-errorhandling.html):

- receive up to ``batch_size`` messages, waiting up to ``batching_window`` seconds to fill the batch;
  received messages stay invisible for the queue's visibility timeout while the function runs;
- invoke the function synchronously with the batch;
- success: delete the batch, except the ids the function reported in ``batchItemFailures`` when the mapping
  reports partial failures (``ReportBatchItemFailures``: the plan turns it on, as ``stratus infra`` does);
- function error or timeout: delete nothing; "all messages in a failed batch return to the queue" when the
  visibility timeout ends, and after ``maxReceiveCount`` receives SQS moves them to the DLQ;
- throttled (reserved concurrency in use): retried until the visibility timeout elapses;
- pollers scale with the backlog: a full batch starts another poller, up to the function's concurrency;
  an extra poller stops when it finds the queue empty.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from stratus.events import sqs as sqs_events
from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from collections.abc import Callable

    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

POLL_WAIT_S = 1  # long-poll slices short enough that a stop is prompt; SendMessage wakes a waiting poll


class SqsEventSource:
    """Feeds one queue to one function."""

    def __init__(
        self,
        *,
        client_factory: Callable[[], Any],
        queue_url: str,
        queue_arn: str,
        region: str,
        function: LambdaFunction,
        batch_size: int,
        batching_window: float,
        visibility_timeout: int,
        max_pollers: int,
        sink: LogSink,
        report_batch_item_failures: bool = True,
    ) -> None:
        self.client_factory = client_factory
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.function = function
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.visibility_timeout = visibility_timeout
        self.max_pollers = max(1, max_pollers)
        self.report_batch_item_failures = report_batch_item_failures
        self.sink = sink
        self.source = function.config.source
        self._pool = ThreadPoolExecutor(max_workers=self.max_pollers + 1, thread_name_prefix=f"sqs-{self.source}")
        self._pollers: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self.delivered = 0  # messages handed to the function (the console's messages per second)

    def start(self) -> None:
        self._spawn(primary=True)

    async def stop(self) -> None:
        self._stopping.set()
        for task in list(self._pollers):
            task.cancel()
        await asyncio.gather(*self._pollers, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def pollers(self) -> int:
        return len(self._pollers)

    def _spawn(self, *, primary: bool) -> None:
        task = asyncio.create_task(self._poll(primary=primary))
        self._pollers.add(task)
        task.add_done_callback(self._pollers.discard)

    async def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: method(**kwargs))

    async def _poll(self, *, primary: bool) -> None:
        client = self.client_factory()
        while not self._stopping.is_set():
            try:
                messages = await self._receive_batch(client)
            except Exception as exc:  # the local AWS restarting or gone: keep trying, quietly
                if self._stopping.is_set():
                    return
                self.sink.write(self.source, f"ReceiveMessage failed: {exc}")
                await asyncio.sleep(1)
                continue
            if not messages:
                if primary:
                    continue
                return
            if len(messages) == self.batch_size and len(self._pollers) < self.max_pollers:
                self._spawn(primary=False)
            await self._deliver(client, messages)

    async def _receive_batch(self, client: Any) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.batching_window
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            wait = POLL_WAIT_S if not messages else max(0, min(POLL_WAIT_S, int(remaining + 0.999)))
            got = await self._call(
                client.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size - len(messages),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages.extend(got.get("Messages", []))
            if not messages:
                return []
            if time.monotonic() >= deadline:
                break
        return messages

    async def _deliver(self, client: Any, messages: list[dict[str, Any]]) -> None:
        self.delivered += len(messages)
        records = [sqs_events.record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        payload = json.dumps(sqs_events.event(records)).encode()
        give_up = time.monotonic() + self.visibility_timeout
        while True:
            try:
                result = await self.function.invoke(payload)
                break
            except TooManyRequests:
                if time.monotonic() > give_up:
                    return
                await asyncio.sleep(0.1)
        ids = [m["MessageId"] for m in messages]
        if result.function_error:
            self.sink.write(
                self.source,
                f"batch of {len(ids)} failed: the messages return to the queue after its visibility timeout "
                f"({self.visibility_timeout} s)",
                result.request_id,
            )
            return
        failed = set(sqs_events.failed_ids(result.payload, ids)) if self.report_batch_item_failures else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            await self._call(
                client.delete_message_batch,
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if failed:
            self.sink.write(
                self.source, f"{len(failed)} of {len(ids)} messages reported failed; they return to the queue",
                result.request_id,
            )  # fmt: skip
