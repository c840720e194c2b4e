"""How many execution environments the whole local stack keeps: one budget shared by every function.

In AWS each function scales on its own concurrency, up to the account's 1,000, on hardware that is not the
developer's. Here every environment is a Python process on the same few cores, so environments beyond what the
CPUs can run add memory and cold starts, not throughput. The pool keeps AWS's model (one invocation at a time per
environment, a warm idle environment reused before a cold start, a new one when all are busy) within a stack-wide
``limit``:

- a function below its own cap starts an environment while the stack is under the limit;
- at the limit, the least recently used idle environment of *another* function is reclaimed to make room (AWS
  reclaims idle environments too, and a cold start of a busy function serves a request that would otherwise wait);
- when every environment is busy, the invocation waits for one to be free, its own function's first (a warm
  start) or, failing that, a slot freed anywhere in the stack;
- a function with no environment may always start one, past the limit when nothing idle can make room: an
  invocation that waits on another function (an authorizer, a Lambda calling a Lambda) can never be starved by
  environments that wait on it.

An environment idle for ``idle_timeout`` seconds is reclaimed, as AWS reclaims idle execution environments (after
minutes; the exact time is not documented), so a stack left alone gives its memory back.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stratus.local.runtime.function import LambdaFunction

IDLE_TIMEOUT_S = 300.0


def default_limit(cpus: int | None = None) -> int:
    """Environments the stack keeps by default: four per core, at least 8 (each is a Python process of ~40-80 MB;
    beyond a few per core they wait for a CPU rather than add throughput)."""
    return max(8, 4 * (cpus or os.cpu_count() or 2))


class EnvironmentBudget:
    def __init__(self, limit: int | None = None, *, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.limit = limit or default_limit()
        self.idle_timeout = idle_timeout
        self.functions: list[LambdaFunction] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self.reclaimed = 0  # idle environments reclaimed to make room or after idle_timeout

    def join(self, function: LambdaFunction) -> None:
        self.functions.append(function)

    def leave(self, function: LambdaFunction) -> None:
        if function in self.functions:
            self.functions.remove(function)

    @property
    def in_use(self) -> int:
        """Environments of the stack now, starting ones included."""
        return sum(function.environments + function.starting for function in self.functions)

    def admit(self, function: LambdaFunction) -> bool:
        """Whether ``function`` may start one more environment now (reclaiming another's idle one if needed)."""
        if self.in_use < self.limit:
            return True
        victim = min(
            (other for other in self.functions if other is not function and other.idle_count),
            key=lambda other: other.oldest_idle_since(),
            default=None,
        )
        if victim is not None:
            victim.reclaim_oldest_idle()
            self.reclaimed += 1
            return True
        return function.environments + function.starting == 0  # never starved: see the module's docstring

    def wait(self, waiter: asyncio.Future[Any]) -> None:
        """``waiter`` is woken (with None) when a slot may have been freed anywhere in the stack."""
        self._waiters.append(waiter)

    def freed(self) -> None:
        """An environment went idle or away: one invocation waiting for room may try again."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
