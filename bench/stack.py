"""The repository's stack under `stratus dev`, for the benchmarks that need it: started in a copy of the project
(so a developer's own `stratus dev` is left alone), with a signed-in player and an API key ready.

    with running_stack() as stack:            # stack.url, stack.token, stack.api_key, stack.player_id
        ...
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from stratus.local.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
STRATUS = [sys.executable, "-m", "stratus"]


@dataclass
class Stack:
    url: str
    root: Path
    token: str = ""
    api_key: str = ""
    player_id: str = ""

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@contextmanager
def running_stack(url: str | None = None) -> Iterator[Stack]:
    """A stack at ``url`` (already running), or one started here and stopped on exit; signed in either way."""
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        root = Path(tmp)
        proc = None
        if url is None:
            shutil.copy(ROOT / "stratus.toml", root / "stratus.toml")
            for part in ("services", "libs"):
                shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "tests"))
            port = free_port()
            log = (root / "dev.log").open("w")
            proc = subprocess.Popen(
                [*STRATUS, "dev", "--port", str(port), "--invoke-port", str(free_port()), "--no-access-log"],
                cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while "ready in" not in (root / "dev.log").read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"stratus dev did not start:\n{(root / 'dev.log').read_text()[-3000:]}")
                time.sleep(0.1)
        try:
            yield _signed_in(Stack(url=url, root=root), start=proc is not None)
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _signed_in(stack: Stack, *, start: bool) -> Stack:
    username, password = f"bench-{uuid.uuid4().hex[:8]}", "a long enough bench passphrase"
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        registered = http.post("/auth/register", json={"username": username, "password": password})
        registered.raise_for_status()
        token = http.post("/auth/token", data={"grant_type": "password", "username": username, "password": password})
        token.raise_for_status()
        stack.token, stack.player_id = token.json()["access_token"], registered.json()["sub"]
        http.post("/players", json={"display_name": "Bench"}, headers=stack.bearer).raise_for_status()
    if start:
        created = subprocess.run([*STRATUS, "apikey", "create", "bench"], cwd=stack.root, capture_output=True,
                                 text=True, check=True)  # fmt: skip
        stack.api_key = created.stdout.strip()
    return stack
