"""A Lambda function: its configuration and its pool of execution environments.

Concurrency works as in Lambda: an invocation takes a warm idle environment if there is one (the most
recently used first), else starts a new one (a cold start, logged with its init duration). With reserved
concurrency set, an invocation beyond it is throttled (``TooManyRequestsException``). Without it, AWS would
scale to the account's 1,000; locally the pool stops at ``max_environments``, and the whole stack's environments
share one :class:`~stratus.local.runtime.budget.EnvironmentBudget` (idle ones reclaimed to make room or after
being idle a while); further invocations wait for a free environment instead, so a burst cannot fork hundreds of
interpreters on a laptop.

A handler that cannot be imported fails every invocation with Lambda's init error, which is logged once;
the function stays failed until its code changes (:meth:`reload`), rather than re-importing per request.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stratus.local.runtime.api import Invocation, Outcome
from stratus.local.runtime.budget import IDLE_TIMEOUT_S
from stratus.local.runtime.environment import Environment, InitError, error_payload
from stratus.local.runtime.stats import FunctionStats

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stratus.local.logs import LogSink
    from stratus.local.runtime.budget import EnvironmentBudget

INIT_LIMIT_S = 10.0  # Lambda's init phase limit
STOPPING = error_payload("ServiceException", "The local cloud is stopping")
# INIT_START names the runtime version; locally that is this interpreter, not one of Lambda's managed versions
RUNTIME_VERSION = f"python:{sys.version_info.major}.{sys.version_info.minor}.local"


def fast_uuid4() -> str:
    """A random (version 4) UUID without a system call per id: request ids need to be unique, not secret."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


class TooManyRequests(Exception):
    """Throttled: reserved concurrency is in use (Lambda's TooManyRequestsException)."""

    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"


@dataclass(frozen=True)
class FunctionConfig:
    name: str  # the AWS function name, <project>-<env>-<service>
    source: str  # the log prefix (service name)
    handler: str
    task_root: Path
    memory: int
    timeout: int
    reserved_concurrency: int | None
    environ: Mapping[str, str]
    arn: str
    log_group: str
    runtime_argv: tuple[str, ...] | None = None  # starts the runtime client (handler appended); None: awslambdaric here


@dataclass(frozen=True, slots=True)
class InvokeResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed
    duration_ms: float
    cold: bool
    init_ms: float | None = None  # the init phase of a cold start


class LambdaFunction:
    """Runs invocations of one function in isolated execution environments."""

    def __init__(
        self,
        config: FunctionConfig,
        sink: LogSink,
        *,
        max_environments: int = 8,
        budget: EnvironmentBudget | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        limit = config.reserved_concurrency
        self.max_environments = max_environments if limit is None else limit
        self._idle: deque[Environment] = deque()  # oldest idle first; reused from the right (most recent)
        self._idle_since: dict[Environment, float] = {}
        self._all: set[Environment] = set()
        self._starting = 0
        self._waiters: deque[asyncio.Future[Environment | None]] = deque()
        self._init_failure: bytes | None = None
        self._closed = False
        self._generation = 0
        self._discarding: set[asyncio.Task[None]] = set()  # environments on their way out
        self._reaper: asyncio.TimerHandle | None = None  # reclaims environments idle for idle_timeout
        self._logs: dict[str, list[str]] = {}  # recent invocations' log lines, for X-Amz-Log-Type: Tail
        self.stats = FunctionStats()
        self.budget = budget
        self.idle_timeout = budget.idle_timeout if budget is not None else IDLE_TIMEOUT_S
        if budget is not None:
            budget.join(self)

    def _log(self, line: str, request_id: str | None = None) -> None:
        self.sink.write(self.config.source, line, request_id)
        if request_id is not None:
            lines = self._logs.get(request_id)
            if lines is None:
                if len(self._logs) >= 64:
                    del self._logs[next(iter(self._logs))]
                lines = self._logs[request_id] = []
            lines.append(line)

    def _runtime_arn(self) -> str:
        region = self.config.arn.split(":")[3] if self.config.arn.count(":") >= 3 else "us-east-1"
        return f"arn:aws:lambda:{region}::runtime:local-python{sys.version_info.major}{sys.version_info.minor}"

    def logs_of(self, request_id: str) -> bytes:
        """The log lines of a recent invocation, as Lambda's LogResult holds them."""
        return "".join(f"{line}\n" for line in self._logs.get(request_id, ())).encode()

    @property
    def environments(self) -> int:
        return len(self._all)

    @property
    def starting(self) -> int:
        return self._starting

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def oldest_idle_since(self) -> float:
        return self._idle_since.get(self._idle[0], 0.0) if self._idle else float("inf")

    def reclaim_oldest_idle(self) -> None:
        """Let the least recently used idle environment go (the stack's budget needs its room)."""
        if self._idle:
            self._reclaim(self._idle.popleft())

    def _reclaim(self, env: Environment) -> None:
        self._idle_since.pop(env, None)
        self._all.discard(env)  # at once: the room it held is free now
        task = asyncio.get_running_loop().create_task(self._discard(env))
        self._discarding.add(task)
        task.add_done_callback(self._discarding.discard)

    def _arm_reaper(self) -> None:
        """One timer per function, due when its least recently used idle environment reaches ``idle_timeout``
        (a timer per release would pile up hundreds of thousands of handles under load, and the garbage
        collector's passes over them stall the loop)."""
        if self._reaper is None and self._idle and not self._closed:
            due = self.oldest_idle_since() + self.idle_timeout - time.monotonic()
            self._reaper = asyncio.get_running_loop().call_later(max(0.0, due), self._reap)

    def _reap(self) -> None:
        """Reclaim the environments idle for ``idle_timeout`` (the oldest idle are on the left), then re-arm."""
        self._reaper = None
        if self._closed:
            return
        expired = time.monotonic() - self.idle_timeout
        while self._idle and self._idle_since.get(self._idle[0], 0.0) <= expired:
            self._reclaim(self._idle.popleft())
            if self.budget is not None:
                self.budget.reclaimed += 1
        self._arm_reaper()

    def pool(self) -> tuple[int, int, int]:
        """Its execution environments now: (warm and idle, busy, starting)."""
        warm = sum(1 for env in self._idle if env.alive and not env.retire)
        return warm, max(0, len(self._all) - len(self._idle)), self._starting

    # ----------------------------------------------------------------------------------------- invoke

    async def invoke(
        self,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
        qualifier: str | None = None,
        version: str = "$LATEST",
    ) -> InvokeResult:
        """Run one invocation (``client_context``: the decoded JSON; ``request_id``: an id already given out, as an
        asynchronous invocation's; ``qualifier``: the alias or version the caller named, which ends the invoked
        ARN, and ``version`` the one it selects, as START names it); raises :class:`TooManyRequests` when
        throttled."""
        request_id = request_id or fast_uuid4()
        if self._closed:  # the local cloud is stopping: no environment starts after close()
            return InvokeResult(request_id, STOPPING, "Unhandled", 0.0, cold=False)
        if self._init_failure is not None:
            self.stats.invoked(request_id, 0.0, False, self._init_failure)
            return InvokeResult(request_id, self._init_failure, "Unhandled", 0.0, cold=False)
        try:
            env, cold = await self._acquire()
        except TooManyRequests:
            self.stats.throttled()
            raise
        if isinstance(env, InitError):  # this invocation's environment could not start
            self.stats.invoked(request_id, 0.0, True, env.payload)
            return InvokeResult(request_id, env.payload, "Unhandled", 0.0, cold=True)
        now_ms = int(time.time() * 1000)
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=now_ms + self.config.timeout * 1000,
            function_arn=f"{self.config.arn}:{qualifier}" if qualifier else self.config.arn,
            trace_id=f"Root=1-{now_ms // 1000:08x}-{random.getrandbits(96):024x};Sampled=0",
            client_context=client_context,
        )
        self._log(f"START RequestId: {request_id} Version: {version}", request_id)
        started = time.perf_counter()
        env.invoke(invocation, self.config.timeout, lambda inv: self._timed_out(env, inv, started))
        outcome: Outcome | None = None
        try:
            outcome = await invocation.future
        finally:
            duration = (time.perf_counter() - started) * 1000
            self._report(env, request_id, duration, cold, outcome.fault if outcome else None)
            self._release(env)
        self.stats.invoked(request_id, duration, cold, outcome.payload if outcome.failed else None)
        init_ms = env.init_duration_ms if cold else None
        failed = "Unhandled" if outcome.failed else None
        return InvokeResult(request_id, outcome.payload, failed, duration, cold, init_ms)

    def _timed_out(self, env: Environment, invocation: Invocation, started: float) -> None:
        elapsed = time.perf_counter() - started
        message = f"Task timed out after {elapsed:.2f} seconds"
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        self._log(f"{stamp} {invocation.request_id} {message}", invocation.request_id)
        payload = error_payload("Sandbox.Timedout", f"RequestId: {invocation.request_id} Error: {message}")
        env.retire = True  # _release discards it: a timed-out runtime is never reused
        env.fail_current(Outcome(payload, "Unhandled", "timeout"))

    def _report(self, env: Environment, request_id: str, duration_ms: float, cold: bool, fault: str | None) -> None:
        """``END`` and ``REPORT`` as Lambda writes them. Since 2025-08-01 Lambda bills the init phase of an
        on-demand ZIP function, so a cold start's ``Billed Duration`` includes its ``Init Duration``."""
        self._log(f"END RequestId: {request_id}", request_id)
        billed = duration_ms + (env.init_duration_ms if cold else 0.0)
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(billed))} ms\tMemory Size: {self.config.memory} MB\t"
            f"Max Memory Used: {env.max_memory_mb()} MB"
        )
        if cold:
            line += f"\tInit Duration: {env.init_duration_ms:.2f} ms"
        if fault == "timeout":
            line += "\tStatus: timeout"
        elif fault is not None:
            line += f"\tStatus: error\tError Type: {fault}"
        self._log(line, request_id)

    # ------------------------------------------------------------------------------------------- pool

    async def _acquire(self) -> tuple[Environment | InitError, bool]:
        while True:
            while self._idle:
                env = self._idle.pop()
                self._idle_since.pop(env, None)
                if env.alive and not env.retire:
                    return env, False
            below_cap = len(self._all) + self._starting < self.max_environments
            if below_cap and (self.budget is None or self.budget.admit(self)):
                return await self._start(), True
            if not below_cap and self.config.reserved_concurrency is not None:
                raise TooManyRequests("Rate Exceeded.")
            waiter: asyncio.Future[Environment | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            if below_cap and self.budget is not None:
                # room may be freed by another function, not only by ours, or another's idle environment may be
                # taken once it has been idle long enough
                self.budget.wait(waiter, self.budget.steal_in(self))
            handed = await waiter
            if handed is not None:
                return handed, False
            # None: an environment went away or room was freed: look again

    async def _start(self) -> Environment | InitError:
        self._starting += 1
        generation = self._generation
        self._log(f"INIT_START Runtime Version: {RUNTIME_VERSION}\tRuntime Version ARN: {self._runtime_arn()}")
        env = Environment(
            handler=self.config.handler,
            task_root=self.config.task_root,
            environ=self.config.environ,
            log=self._log,
            on_exit=self._exited,
            argv=self.config.runtime_argv,
        )
        try:
            await env.start(max(INIT_LIMIT_S, float(self.config.timeout)))
        except InitError as exc:
            # An import error will fail every start the same way: remember it (and log it once) until the code
            # changes. A runtime that died during init (killed, crashed) is tried afresh next time, as in AWS.
            if exc.reported and generation == self._generation and self._init_failure is None:
                self._init_failure = exc.payload
                self._log(f"INIT FAILED: {exc}")
            elif not exc.reported:
                self._log(f"init failed: {exc}")
            self._wake_one()
            return exc
        finally:
            self._starting -= 1
        if self._closed:  # the function closed while this environment started: close() did not see it
            await env.kill()
            return InitError(STOPPING)
        self._all.add(env)
        return env

    def _release(self, env: Environment) -> None:
        if self._closed:
            return  # close() kills every environment (one SIGKILLed but not yet reaped still looks alive)
        if not env.alive or env.retire:
            if env.alive:
                task = asyncio.get_running_loop().create_task(self._discard(env))
                self._discarding.add(task)
                task.add_done_callback(self._discarding.discard)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(env)
                return
        self._idle.append(env)
        self._idle_since[env] = time.monotonic()
        self._arm_reaper()
        if self.budget is not None:
            self.budget.freed()  # an idle environment can be reclaimed by a function that waits for room

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _exited(self, env: Environment) -> None:
        was_member = env in self._all
        self._all.discard(env)
        self._idle_since.pop(env, None)
        if env in self._idle:
            self._idle.remove(env)
        if was_member and not self._closed:
            self._wake_one()
        if self.budget is not None:
            self.budget.freed()

    async def _discard(self, env: Environment) -> None:
        self._all.discard(env)
        await env.kill()
        if self.budget is not None:
            self.budget.freed()

    # ------------------------------------------------------------------------------------------ control

    async def warm(self, count: int = 1) -> bool:
        """Have ``count`` environments initialised ahead of traffic (provisioned concurrency keeps that many);
        False when the handler fails to initialise."""
        if self._init_failure is not None:
            return False
        missing = min(count, self.max_environments) - len(self._all)
        if missing <= 0:
            return True
        started = await asyncio.gather(*(self._start() for _ in range(missing)))
        ready = True
        for env in started:
            if isinstance(env, InitError):
                ready = False
            else:
                self._release(env)
        return ready

    @property
    def init_failure(self) -> bytes | None:
        return self._init_failure

    async def reload(self) -> None:
        """New code: idle environments go now, busy ones after their invocation; the next one cold-starts."""
        self._generation += 1
        self._init_failure = None
        for env in list(self._all):
            env.retire = True
        idle, self._idle = list(self._idle), deque()
        self._idle_since.clear()
        await asyncio.gather(*(self._discard(env) for env in idle))

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        if self.budget is not None:
            self.budget.leave(self)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        await asyncio.gather(*(env.kill() for env in list(self._all)), return_exceptions=True)
        while pending := [task for task in self._discarding if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        self._all.clear()
        self._idle.clear()
        self._idle_since.clear()
