"""Asynchronous invocations (``InvocationType: Event``) and Lambda's retries of them.

Lambda queues the event and answers 202 with the invocation's request id; the function runs later, with that
id. When it fails (an error of its code or of its runtime, a timeout), Lambda runs it twice more, one minute
and then two minutes later, with the same request id; when it is throttled (429), Lambda returns the event to
its queue and tries again with a delay growing from 1 second to at most 5 minutes, for up to 6 hours (the
default maximum event age): https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html.

Locally the waits are real by default; ``STRATUS_ASYNC_RETRY_DELAYS`` (seconds, comma-separated, e.g.
``0.2,0.4``) replaces the function-error delays (their count is the number of retries), read once when the API
starts. Throttled events are retried with AWS's backoff while the event is younger than ``max_age`` (6 hours,
as AWS's default; the local cloud's life bounds it in practice). Each pending retry is logged in the
function's log; an event that failed every attempt is logged as discarded (the Terraform's asynchronous
dead-letter queue is not provisioned locally). :meth:`AsyncInvoker.close` cancels what is pending.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

DELAYS_VARIABLE = "STRATUS_ASYNC_RETRY_DELAYS"
RETRY_DELAYS = (60.0, 120.0)  # after the first failure, after the second
THROTTLE_FIRST, THROTTLE_CAP = 1.0, 300.0
MAX_AGE = 6 * 3600.0


def delays_from_environ(environ: dict[str, str] | None = None) -> tuple[float, ...]:
    """The retry delays ``STRATUS_ASYNC_RETRY_DELAYS`` sets, else AWS's; an invalid value raises ValueError."""
    value = (os.environ if environ is None else environ).get(DELAYS_VARIABLE, "").strip()
    if not value:
        return RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise ValueError(f"{DELAYS_VARIABLE}={value!r}: expected seconds separated by commas, e.g. 60,120") from None
    if any(delay < 0 for delay in delays):
        raise ValueError(f"{DELAYS_VARIABLE}={value!r}: delays cannot be negative")
    return delays


def _seconds(value: float) -> str:
    return f"{value:g}"


class AsyncInvoker:
    """Runs queued events in the background, retrying as Lambda does, until :meth:`close`."""

    def __init__(
        self,
        sink: LogSink,
        *,
        delays: tuple[float, ...] = RETRY_DELAYS,
        throttle: tuple[float, float] = (THROTTLE_FIRST, THROTTLE_CAP),
        max_age: float = MAX_AGE,
    ) -> None:
        self.sink = sink
        self.delays = delays
        self.throttle = throttle
        self.max_age = max_age
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(
        self, function: LambdaFunction, payload: bytes, request_id: str, *, qualifier: str | None = None,
        version: str = "$LATEST",
    ) -> None:  # fmt: skip
        selected = {"qualifier": qualifier, "version": version}
        task = asyncio.create_task(self._run(function, payload, request_id, selected))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel every queued event and pending retry."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _log(self, function: LambdaFunction, line: str) -> None:
        self.sink.write(function.config.source, line)

    async def _run(self, function: LambdaFunction, payload: bytes, request_id: str, selected: dict[str, Any]) -> None:
        queued = time.monotonic()
        failures = 0
        backoff = self.throttle[0]
        while True:
            try:
                result = await function.invoke(payload, request_id=request_id, **selected)
            except TooManyRequests:
                if time.monotonic() - queued + backoff > self.max_age:
                    self._log(function, f"{request_id} async invocation throttled until its maximum age; discarded")
                    return
                self._log(
                    function,
                    f"{request_id} async invocation throttled (TooManyRequestsException); retrying in "
                    f"{_seconds(backoff)} s",
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.throttle[1])
                continue
            if not result.function_error:
                return
            if failures >= len(self.delays):
                self._log(
                    function,
                    f"{request_id} async invocation failed ({result.function_error}) after {failures + 1} attempts; "
                    "event discarded",
                )
                return
            delay = self.delays[failures]
            failures += 1
            self._log(
                function,
                f"{request_id} async invocation failed ({result.function_error}); retry {failures} of "
                f"{len(self.delays)} in {_seconds(delay)} s",
            )
            await asyncio.sleep(delay)
