"""Start ``stratus dev`` as a user does (a subprocess on free ports) and talk to it.

The stack's output goes to files, so a test can read what it logged. With ``state_dir``, the stack keeps its
state, lock, logs and data there instead of ``<project>/.stratus`` (:data:`stratus.paths.STATE_DIR_VARIABLE`): a
test session's stack runs beside the developer's own ``stratus dev`` of the same project, and starts empty.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from stratus import paths
from stratus.cli.delegate import DELEGATED
from stratus.local.processes import free_port
from stratus.local.state import DevState

READY_MARK = "✓ ready in "


class StackFailed(RuntimeError):
    """``stratus dev`` exited, or was not ready in time; the message ends with its output."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(f"{message}:\n{output}")
        self.reason = message
        self.output = output

    def summary(self) -> str:
        """The one line that says why: the last error line ``stratus dev`` printed, else the reason."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("✗", "Error", "error"))]
        return f"{self.reason}: {errors[-1] if errors else (lines[-1] if lines else 'no output')}"


class DevStack:
    """A running `stratus dev`; its output goes to files so tests can read the logs."""

    def __init__(
        self,
        root: Path,
        *args: str,
        timeout: float = 90.0,
        state_dir: Path | None = None,
        port: int | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.port = port or free_port()
        self.invoke_port = free_port()
        self.console_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.invoke_url = f"http://127.0.0.1:{self.invoke_port}"
        self.console_url = f"http://127.0.0.1:{self.console_port}"
        self.state_dir = state_dir or paths.state_dir(root)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.out_path = self.state_dir / f"dev-{self.port}.out"
        self.err_path = self.state_dir / f"dev-{self.port}.err"
        self.environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.environ[DELEGATED] = "1"
        if state_dir is not None:
            self.environ[paths.STATE_DIR_VARIABLE] = str(state_dir)
        self.environ.update(environ or {})
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stratus", "dev", "--port", str(self.port),
                 "--invoke-port", str(self.invoke_port), "--console-port", str(self.console_port), *args],
                cwd=root, stdout=out, stderr=err, env=self.environ,
            )  # fmt: skip
        self._wait_ready(timeout)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_MARK in self.err_path.read_text():
                return
            if self.proc.poll() is not None:
                raise StackFailed(f"stratus dev exited with {self.proc.returncode}", self.output())
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise StackFailed(f"stratus dev was not ready within {timeout:.0f} s", self.output())

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``stratus ARGS`` in the project, reaching this stack (``stratus apikey``, ``logs``, ``invoke``...)."""
        return subprocess.run(
            [sys.executable, "-m", "stratus", *args],
            cwd=self.root, env=self.environ, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def output(self) -> str:
        return self.out_path.read_text() + "\n--- stderr ---\n" + self.err_path.read_text()

    def raw(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send ``path`` byte for byte (httpx would resolve ``..`` and read ``//x`` as a host)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def logs(self) -> str:
        return self.out_path.read_text()

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        """The log once a line matches ``pattern`` (a regex): logs are written in batches, a moment later."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, logs := self.logs()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r} after {timeout} s:\n{logs[-3000:]}")
            time.sleep(0.02)
        return logs

    def dev_state(self) -> DevState:
        """Where the stack's parts listen (its ``dev.json``)."""
        return DevState(**json.loads((self.state_dir / "dev.json").read_text()))

    def state(self) -> dict[str, object]:
        return dict(json.loads((self.state_dir / "dev.json").read_text()))

    def descendants(self) -> list[Any]:
        import psutil

        try:
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "client"):
            self.client.close()
        return self.proc.returncode
