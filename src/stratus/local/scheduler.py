"""EventBridge schedules: each rule invokes its function with a Scheduled Event when its expression fires
(UTC). EventBridge invokes asynchronously; a failed invocation is logged, not retried here.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stratus.events.schedule import rule_arn, scheduled_event
from stratus.local.runtime.function import TooManyRequests
from stratus.schedules import parse

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction


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

    async def fire(self, when: datetime | None = None) -> None:
        try:
            result = await self.function.invoke(self.event(when))
        except TooManyRequests:
            self.sink.write(self.function.config.source, f"schedule {self.rule}: throttled, skipped")
            return
        if result.function_error:
            self.sink.write(
                self.function.config.source, f"schedule {self.rule}: the invocation failed", result.request_id
            )
