"""EventBridge schedules: each rule invokes its function with a Scheduled Event when its expression fires
(UTC). EventBridge invokes asynchronously; a failed invocation is logged, not retried here.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stratus.events.schedule import rule_arn, scheduled_event
from stratus.local.runtime.function import TooManyRequests
from stratus.schedules import parse

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction


@dataclass(frozen=True, slots=True)
class LastRun:
    time: float
    request_id: str | None
    error: str | None  # why it failed, or None
    manual: bool  # run from ``stratus trigger`` or the console, not by its expression


class ScheduledRule:
    """One schedule of one service, firing its function."""

    def __init__(
        self, *, rule: str, expression: str, function: LambdaFunction, region: str, account_id: str, sink: LogSink
    ) -> None:
        self.rule = rule
        self.schedule = parse(expression)
        self.function = function
        self.arn = rule_arn(region=region, account_id=account_id, rule=rule)
        self.region = region
        self.account_id = account_id
        self.sink = sink
        self.next_fire: datetime | None = None
        self.last_run: LastRun | None = None
        self._task: asyncio.Task[None] | None = None

    def event(self, when: datetime | None = None) -> bytes:
        return json.dumps(
            scheduled_event(rule_arn=self.arn, account_id=self.account_id, region=self.region, when=when)
        ).encode()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            now = datetime.now(UTC)
            self.next_fire = self.schedule.next_after(now)
            if self.next_fire is None:
                return
            await asyncio.sleep(max(0.0, (self.next_fire - datetime.now(UTC)).total_seconds()))
            await self.fire(self.next_fire)

    async def fire(self, when: datetime | None = None, *, manual: bool = False) -> LastRun:
        """Invoke the function with the Scheduled Event of ``when`` (now by default); what happened."""
        started = time.time()
        try:
            result = await self.function.invoke(self.event(when))
        except TooManyRequests:
            self.sink.write(self.function.config.source, f"schedule {self.rule}: throttled, skipped")
            self.last_run = LastRun(started, None, "throttled (reserved concurrency in use)", manual)
            return self.last_run
        error = None
        if result.function_error:
            error = "the invocation failed"
            self.sink.write(self.function.config.source, f"schedule {self.rule}: {error}", result.request_id)
        self.last_run = LastRun(started, result.request_id, error, manual)
        return self.last_run
