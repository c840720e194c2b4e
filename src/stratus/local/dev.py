"""``stratus dev`` from start to stop: the local cloud, hot reload, and the signals that end them."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from stratus import paths
from stratus.local.cloud import DevOptions, LocalCloud, Readiness
from stratus.local.logs import LogSink
from stratus.local.reloader import Reloader

if TYPE_CHECKING:
    from stratus.manifest import Stack

OnReady = Callable[[LocalCloud, Readiness], None]


def serve(stack: Stack, options: DevOptions, on_ready: OnReady) -> None:
    """Run the stack until SIGINT or SIGTERM; each service's lines are also copied to ``.stratus/logs``."""
    sink = LogSink(log_dir=paths.logs_dir(stack.root))  # read by `stratus logs SERVICE`
    try:
        _run_loop(run(stack, options, sink, on_ready))
    finally:
        sink.close()


async def run(stack: Stack, options: DevOptions, sink: LogSink, on_ready: OnReady) -> None:
    """Start the local cloud, call ``on_ready(cloud, readiness)``, and run until SIGINT or SIGTERM."""
    cloud = LocalCloud(stack, options, sink)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloader: Reloader | None = None
    try:
        starting = asyncio.create_task(cloud.start())
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            on_ready(cloud, starting.result())
            if options.reload:
                reloader = Reloader(cloud)
                reloader.start()
            await stopped
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        sink.write("stratus", "stopping…")
        if reloader is not None:
            await reloader.stop()
        await cloud.stop()
        sink.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _run_loop(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        asyncio.run(coro)
    else:
        uvloop.run(coro)
