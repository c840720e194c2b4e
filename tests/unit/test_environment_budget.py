"""The stack-wide budget of execution environments, with real runtime processes and real concurrency.

AWS's model is kept (one invocation per environment, warm reuse before a cold start, a new environment when all
are busy); the budget bounds the processes the whole stack keeps, reclaiming idle environments, least recently
used first, to make room, and after they stay idle for ``idle_timeout``.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import textwrap
from pathlib import Path

import pytest

from stratus.local.logs import LogSink
from stratus.local.runtime.budget import EnvironmentBudget, default_limit
from stratus.local.runtime.function import FunctionConfig, LambdaFunction

HANDLER = """
import time


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budget")
    (root / "probe.py").write_text(textwrap.dedent(HANDLER))
    return root


def function(name: str, task_root: Path, budget: EnvironmentBudget) -> LambdaFunction:
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(task_root), "LAMBDA_TASK_ROOT": str(task_root),
               "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_REGION": "eu-west-1"}  # fmt: skip
    config = FunctionConfig(
        name=name, source=name, handler="probe.handler", task_root=task_root, memory=128, timeout=10,
        reserved_concurrency=None, environ=environ, arn=f"arn:aws:lambda:eu-west-1:000000000000:function:{name}",
        log_group=f"/aws/lambda/{name}",
    )  # fmt: skip
    return LambdaFunction(config, LogSink(io.StringIO(), buffered=False), max_environments=8, budget=budget)


async def invoke(fn: LambdaFunction, sleep: float = 0.0) -> bool:
    result = await fn.invoke(json.dumps({"sleep": sleep}).encode())
    assert result.function_error is None, result.payload
    return result.cold


def run(body):  # type: ignore[no-untyped-def]
    async def main() -> None:
        await asyncio.wait_for(body(), 60)

    asyncio.run(main())


def test_the_default_limit_is_one_per_function_and_four_per_core() -> None:
    assert default_limit(13, cpus=2) == 21
    assert default_limit(3, cpus=4) == 19
    budget = EnvironmentBudget()
    assert budget.limit == default_limit(0)
    budget.join(object())  # type: ignore[arg-type]
    assert budget.limit == default_limit(1)  # follows the functions of the stack
    assert EnvironmentBudget(5).limit == 5


def test_a_function_at_the_limit_reclaims_another_functions_least_recently_used_idle_environment(
    task_root: Path,
) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(3, steal_after=0.2)
        a, b = function("a", task_root, budget), function("b", task_root, budget)
        try:
            # GIVEN a holds the whole budget, idle: three environments, started together
            assert all(await asyncio.gather(*(invoke(a, 0.3) for _ in range(3))))
            assert (a.environments, budget.in_use) == (3, 3)
            await asyncio.sleep(0.25)  # a's environments stop serving traffic: idle past steal_after
            # WHEN b needs two at once
            assert all(await asyncio.gather(invoke(b, 0.3), invoke(b, 0.3)))
            # THEN two of a's idle environments made room, and no more
            assert (a.environments, b.environments, budget.in_use) == (1, 2, 3)
            assert budget.reclaimed == 2
            # AND a's last environment is still warm: reused before any cold start
            assert await invoke(a) is False
        finally:
            await asyncio.gather(a.close(), b.close())

    run(body)


def test_at_the_limit_a_busy_function_waits_for_its_own_environment_rather_than_take_one_still_serving_traffic(
    task_root: Path,
) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(2, steal_after=1.0)
        a, b = function("a", task_root, budget), function("b", task_root, budget)
        try:
            # GIVEN a and b each have one environment, b's idle only a moment (it serves traffic)
            assert await invoke(a) and await invoke(b)
            # WHEN a gets two invocations at once
            colds = await asyncio.gather(invoke(a, 0.2), invoke(a, 0.2))
            # THEN the second waited for a's own environment (a warm start), b's was not taken
            assert sorted(colds) == [False, False]
            assert (a.environments, b.environments, budget.reclaimed) == (1, 1, 0)
            # AND once b's environment has been left idle past steal_after, a takes its room when it needs it
            await asyncio.sleep(0.6)
            assert await invoke(b) is False
            await asyncio.sleep(1.1)
            colds = await asyncio.gather(invoke(a, 0.4), invoke(a, 0.4))
            assert sorted(colds) == [False, True]
            assert (a.environments, b.environments, budget.reclaimed) == (2, 0, 1)
        finally:
            await asyncio.gather(a.close(), b.close())

    run(body)


def test_a_waiting_invocation_takes_an_idle_environment_once_it_has_been_idle_long_enough(task_root: Path) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(2, steal_after=0.5)
        a, b = function("a", task_root, budget), function("b", task_root, budget)
        try:
            assert await invoke(a) and await invoke(b)  # cold starts; b's environment idle from now on
            # WHEN a has a long invocation and a second one comes: it cannot take b's yet
            long = asyncio.create_task(invoke(a, 3.0))
            await asyncio.sleep(0.1)
            # THEN it does not wait for a's long invocation: it takes b's room once that has been idle 0.5 s
            assert await invoke(a) is True
            assert not long.done()
            assert (a.environments, b.environments) == (2, 0)
            await long
        finally:
            await asyncio.gather(a.close(), b.close())

    run(body)


def test_when_every_environment_is_busy_an_invocation_waits_for_one_instead_of_starting_more(task_root: Path) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(2)
        a = function("a", task_root, budget)
        try:
            peak = 0

            async def watch() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, budget.in_use)
                    await asyncio.sleep(0.005)

            watcher = asyncio.create_task(watch())
            colds = await asyncio.gather(*(invoke(a, 0.2) for _ in range(6)))
            watcher.cancel()
            # six concurrent invocations, all served, by two environments: two cold starts, four warm ones
            assert sorted(colds) == [False] * 4 + [True] * 2
            assert peak == 2 and a.environments == 2
        finally:
            await a.close()

    run(body)


def test_a_function_without_an_environment_always_gets_one_even_when_the_budget_is_busy(task_root: Path) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(2)
        a, b = function("a", task_root, budget), function("b", task_root, budget)
        try:
            # GIVEN a's invocations hold the whole budget, busy (as a caller waiting on b would)
            busy = [asyncio.create_task(invoke(a, 1.5)) for _ in range(2)]
            while a.environments + a.starting < 2 or a.idle_count:
                await asyncio.sleep(0.01)
            # WHEN b is invoked THEN it starts its first environment at once, past the limit, rather than wait
            assert await asyncio.wait_for(invoke(b), 1.4) is True
            assert budget.in_use == 3
            await asyncio.gather(*busy)
        finally:
            await asyncio.gather(a.close(), b.close())

    run(body)


def test_an_environment_idle_for_the_idle_timeout_is_reclaimed(task_root: Path) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(4, idle_timeout=0.3)
        a = function("a", task_root, budget)
        try:
            await asyncio.gather(invoke(a, 0.2), invoke(a, 0.2))
            assert a.environments == 2
            await asyncio.sleep(0.1)
            assert await invoke(a) is False  # used again: its idle time starts over
            await asyncio.sleep(0.6)
            assert (a.environments, budget.in_use) == (0, 0)
            assert budget.reclaimed == 2
            assert await invoke(a) is True  # the next invocation is a cold start, as in AWS
        finally:
            await a.close()

    run(body)


def test_only_environments_left_idle_are_reclaimed_each_when_its_own_idle_time_is_up(task_root: Path) -> None:
    async def body() -> None:
        budget = EnvironmentBudget(4, idle_timeout=0.5)
        a = function("a", task_root, budget)
        try:
            await asyncio.gather(invoke(a, 0.2), invoke(a, 0.2))
            assert a.environments == 2
            for _ in range(10):  # one after another: the most recently used environment serves them all
                assert await invoke(a) is False
                await asyncio.sleep(0.1)
            assert (a.environments, budget.reclaimed) == (1, 1)  # the other went at its own time
            await asyncio.sleep(0.7)
            assert (a.environments, budget.reclaimed) == (0, 2)
        finally:
            await a.close()

    run(body)


def test_invocations_do_not_pile_up_timers(task_root: Path) -> None:
    # A timer per released environment, due after the idle timeout (minutes), piled up hundreds of thousands of
    # handles under load; the garbage collector's passes over them stalled the loop (p99 from 2 ms to 250 ms).
    def timers() -> int:
        return sum(isinstance(o, asyncio.TimerHandle) for o in gc.get_objects())

    async def body() -> None:
        a = function("a", task_root, EnvironmentBudget(4))
        try:
            await invoke(a)
            before = timers()
            for _ in range(200):
                await invoke(a)
            assert timers() <= before + 1
        finally:
            await a.close()

    run(body)


def test_closing_a_function_mid_traffic_leaves_no_environment_on_its_way_out(task_root: Path) -> None:
    # Invocations that end while the function closes used to start the discarding of their environment after
    # close() had gathered what it waits for: at shutdown, "Task was destroyed but it is pending!".
    async def body() -> None:
        for _ in range(3):
            a = function("a", task_root, EnvironmentBudget(8))

            async def traffic(fn: LambdaFunction) -> None:
                while True:
                    await fn.invoke(b"{}")
                    await asyncio.sleep(0)  # once closed, an invocation returns at once

            calls = [asyncio.ensure_future(traffic(a)) for _ in range(8)]
            await asyncio.sleep(1.0)  # environments started, invocations ending one after another
            await a.close()
            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            left = [t for t in asyncio.all_tasks() if "/stratus/" in t.get_coro().cr_code.co_filename]  # type: ignore[union-attr]
            assert left == [], left
            assert a.environments == 0

    run(body)


def test_an_environment_that_finishes_starting_after_its_function_closed_is_not_left_running(task_root: Path) -> None:
    async def body() -> None:
        a = function("a", task_root, EnvironmentBudget(4))
        call = asyncio.ensure_future(a.invoke(b"{}"))
        while a.starting == 0:  # the cold start is under way
            await asyncio.sleep(0.001)
        await a.close()
        result = await call
        assert result.function_error == "Unhandled" and b"stopping" in result.payload
        left = [t for t in asyncio.all_tasks() if "/stratus/" in t.get_coro().cr_code.co_filename]  # type: ignore[union-attr]
        assert (left, a.environments) == ([], 0)

    run(body)
