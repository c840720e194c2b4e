"""How many execution environments the whole local stack keeps: one budget shared by every function.

In AWS each function scales on its own concurrency, up to the account's 1,000, on hardware that is not the
developer's. Here every environment is a Python process on the same few cores, so environments beyond what the
CPUs can run add memory and cold starts, not throughput. The pool keeps AWS's model (one invocation at a time per
environment, a warm idle environment reused before a cold start, a new one when all are busy) within a stack-wide
``limit``:

- a function below its own cap starts an environment while the stack is under the limit;
- at the limit, a function that has environments waits for one of its own to be free (a warm start: a cold start
  costs a hundred times the CPU of a request) unless another function has an environment that stopped serving
  traffic, idle for ``steal_after`` seconds: that one, the least recently used, is reclaimed to make room. Only
  environments left idle are taken, so busy functions never take turns cold-starting in each other's place;
- a function with no environment may always start one, reclaiming the least recently used idle environment of
  another if the stack is at the limit, or past the limit when none is idle: an invocation that waits on another
  function (an authorizer, a Lambda calling a Lambda) can never be starved by environments that wait on it.

An environment idle for ``idle_timeout`` seconds is reclaimed, as AWS reclaims idle execution environments (after
minutes; the exact time is not documented), so a stack left alone gives its memory back.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stratus.local.runtime.function import LambdaFunction

IDLE_TIMEOUT_S = 300.0
STEAL_AFTER_S = 10.0  # idle this long, an environment no longer serves a function's traffic


def default_limit(functions: int, cpus: int | None = None) -> int:
    """Environments the stack keeps by default: one for each function, plus four per core to share between the
    busy ones (each is a Python process of ~40-80 MB; beyond a few per core they wait for a CPU rather than add
    throughput)."""
    return functions + 4 * (cpus or os.cpu_count() or 2)


class EnvironmentBudget:
    def __init__(
        self,
        limit: int | None = None,
        *,
        idle_timeout: float = IDLE_TIMEOUT_S,
        steal_after: float = STEAL_AFTER_S,
    ) -> None:
        self._limit = limit
        self.idle_timeout = idle_timeout
        self.steal_after = steal_after
        self.functions: list[LambdaFunction] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self.reclaimed = 0  # idle environments reclaimed to make room or after idle_timeout

    @property
    def limit(self) -> int:
        """The ``limit`` given, else :func:`default_limit` for the functions of the stack now."""
        return self._limit or default_limit(len(self.functions))

    def join(self, function: LambdaFunction) -> None:
        self.functions.append(function)

    def leave(self, function: LambdaFunction) -> None:
        if function in self.functions:
            self.functions.remove(function)

    @property
    def in_use(self) -> int:
        """Environments of the stack now, starting ones included."""
        return sum(function.environments + function.starting for function in self.functions)

    def _oldest_idle(self, function: LambdaFunction) -> LambdaFunction | None:
        """The other function whose least recently used idle environment is the oldest."""
        return min(
            (other for other in self.functions if other is not function and other.idle_count),
            key=lambda other: other.oldest_idle_since(),
            default=None,
        )

    def admit(self, function: LambdaFunction) -> bool:
        """Whether ``function`` may start one more environment now (reclaiming another's idle one if needed)."""
        if self.in_use < self.limit:
            return True
        first = function.environments + function.starting == 0
        victim = self._oldest_idle(function)
        if victim is not None and (first or self._idle_for(victim) >= self.steal_after):
            victim.reclaim_oldest_idle()
            self.reclaimed += 1
            return True
        return first  # never starved: see the module's docstring

    def steal_in(self, function: LambdaFunction) -> float | None:
        """Seconds until another function's idle environment may be taken for ``function``; None if none is idle."""
        victim = self._oldest_idle(function)
        return None if victim is None else max(0.01, self.steal_after - self._idle_for(victim))

    @staticmethod
    def _idle_for(function: LambdaFunction) -> float:
        return time.monotonic() - function.oldest_idle_since()

    def wait(self, waiter: asyncio.Future[Any], timeout: float | None = None) -> None:
        """``waiter`` is woken (with None) when a slot may have been freed anywhere in the stack, or after
        ``timeout`` seconds (when another's idle environment may be taken)."""
        self._waiters.append(waiter)
        if timeout is not None:
            asyncio.get_running_loop().call_later(timeout, _wake, waiter)

    def freed(self) -> None:
        """An environment went idle or away: one invocation waiting for room may try again."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _wake(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(None)
