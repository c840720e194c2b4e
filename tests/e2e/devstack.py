"""Start `stratus dev` as a user does (a subprocess on free ports) and talk to it."""

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

import httpx
import psutil

from stratus.local.processes import free_port

READY_MARK = "ready in"


class DevStack:
    """A running `stratus dev`; its output goes to files so tests can read the logs."""

    def __init__(self, root: Path, *args: str, timeout: float = 90.0) -> None:
        self.root = root
        self.port = free_port()
        self.invoke_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.invoke_url = f"http://127.0.0.1:{self.invoke_port}"
        self.out_path = root / f".dev-{self.port}.out"
        self.err_path = root / f".dev-{self.port}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = self._spawn(root, args, env, out, err)
        self._wait_ready(timeout)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def _spawn(
        self, root: Path, args: tuple[str, ...], env: dict[str, str], out: object, err: object
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "stratus", "dev", "--port", str(self.port), "--invoke-port", str(self.invoke_port),
             *args],
            cwd=root,
            stdout=out,  # type: ignore[arg-type]
            stderr=err,  # type: ignore[arg-type]
            env=env,
        )  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_MARK in self.err_path.read_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"stratus dev exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"stratus dev not ready within {timeout} s:\n{self.output()}")

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

    def state(self) -> dict[str, object]:
        return dict(json.loads((self.root / ".stratus" / "dev.json").read_text()))

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
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
