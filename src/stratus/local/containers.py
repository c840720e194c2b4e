"""Container services (``apprunner`` and ``ecs-express``): the service's process, health-checked as the
platform does it, and replaced when it fails.

The process gets ``PORT`` (a free local port; App Runner's default is 8080, which would collide between
services) and ``HOST=127.0.0.1``. Health checks follow the manifest's ``health`` (AWS's
HealthCheckConfiguration: protocol, path, interval, timeout, healthy and unhealthy thresholds). While it
starts, the process is probed every 100 ms so the stack is ready as soon as it is; once healthy, at the
configured interval. ``unhealthy`` consecutive failures, or an exit, restart it (with a backoff when it
keeps dying).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from stratus.local import processes

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stratus.local.logs import LogSink
    from stratus.manifest import HealthCheck

STARTUP_PROBE_S = 0.1
MAX_BACKOFF_S = 30.0


class ContainerProcess:
    """One container service, supervised."""

    def __init__(
        self,
        name: str,
        *,
        command: list[str],
        cwd: Path,
        environ: Mapping[str, str],
        health: HealthCheck,
        sink: LogSink,
    ) -> None:
        self.name = name
        self.command = command
        self.cwd = cwd
        self.environ = environ
        self.health = health
        self.sink = sink
        self.port = processes.free_port()
        self.healthy = False
        self.restarts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._became_healthy = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._restart_requested = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())

    async def wait_healthy(self, timeout: float, max_restarts: int = 3) -> bool:
        """Wait until healthy; gives up early on a process that keeps dying."""
        deadline = time.monotonic() + timeout
        while not self.healthy and self.restarts < max_restarts and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._became_healthy.wait(), 0.1)
        return self.healthy

    async def restart(self) -> None:
        """Replace the process (new code): the supervisor starts a fresh one at once and health-checks it."""
        self._restart_requested = True
        if self.process is not None:
            await processes.stop(self.process)

    async def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self.process is not None:
            await processes.stop(self.process)

    # ------------------------------------------------------------------------------------------ internals

    def _argv(self) -> list[str]:
        import sys

        if self.command and self.command[0] in ("python", "python3"):
            return [sys.executable, *self.command[1:]]
        return list(self.command)

    async def _supervise(self) -> None:
        backoff = 1.0
        async with httpx.AsyncClient() as client:
            while not self._stopping.is_set():
                started = time.monotonic()
                env = {**self.environ, "PORT": str(self.port), "HOST": "127.0.0.1"}
                try:
                    self.process = await processes.spawn(self._argv(), env=env, cwd=self.cwd)
                except OSError as exc:
                    self.sink.write(self.name, f"could not start {self.command!r}: {exc}")
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                pump = asyncio.create_task(self._pump_output(self.process))
                reason = await self._watch(client, self.process)
                self.healthy = False
                self._became_healthy.clear()
                await processes.stop(self.process)
                await asyncio.gather(pump, return_exceptions=True)
                if self._stopping.is_set():
                    return
                if self._restart_requested:  # new code: no backoff, not counted as a failure
                    self._restart_requested = False
                    continue
                self.restarts += 1
                self.sink.write(self.name, f"{reason}; restarting (restart #{self.restarts})")
                if time.monotonic() - started < 10:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                else:
                    backoff = 1.0

    async def _watch(self, client: httpx.AsyncClient, proc: asyncio.subprocess.Process) -> str:
        """Health-check until the process exits or fails ``unhealthy`` checks in a row; returns why it ended."""
        successes = failures = 0
        exited = asyncio.create_task(proc.wait())
        try:
            while True:
                interval = self.health.interval if self.healthy else STARTUP_PROBE_S
                done, _ = await asyncio.wait({exited}, timeout=interval)
                if done:
                    return f"process exited with code {proc.returncode}"
                ok, detail = await self._probe(client)
                if ok:
                    successes, failures = successes + 1, 0
                    if not self.healthy and successes >= self.health.healthy:
                        self.healthy = True
                        self._became_healthy.set()
                        self.sink.write(self.name, f"healthy on {self.url} ({self._describe()})")
                elif self.healthy:
                    successes, failures = 0, failures + 1
                    self.sink.write(self.name, f"health check failed ({failures}/{self.health.unhealthy}): {detail}")
                    if failures >= self.health.unhealthy:
                        return f"unhealthy after {failures} failed health checks"
        finally:
            exited.cancel()

    def _describe(self) -> str:
        if self.health.protocol == "tcp":
            return f"tcp :{self.port}"
        return f"GET {self.health.path}"

    async def _probe(self, client: httpx.AsyncClient) -> tuple[bool, str]:
        timeout = self.health.timeout
        if self.health.protocol == "tcp":
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), timeout)
            except (OSError, TimeoutError) as exc:
                return False, str(exc) or type(exc).__name__
            writer.close()
            return True, ""
        try:
            response = await client.get(self.url + self.health.path, timeout=timeout)
        except httpx.HTTPError as exc:
            return False, str(exc) or type(exc).__name__
        if 200 <= response.status_code < 400:
            return True, ""
        return False, f"GET {self.health.path} answered {response.status_code}"

    async def _pump_output(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            self.sink.write(self.name, line.decode(errors="replace"))


def base_environ() -> dict[str, str]:
    """What every service process starts from: the system basics, none of the caller's own settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "VIRTUAL_ENV", "SSL_CERT_FILE", "XDG_RUNTIME_DIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    return env
