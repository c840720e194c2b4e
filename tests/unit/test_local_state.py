"""One `stratus dev` per project: the lock, and the state file other commands read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stratus.errors import LocalCloudError
from stratus.local.state import DevLock, DevState


def state(pid: int) -> DevState:
    return DevState(pid=pid, env="dev", region="eu-west-1", api="http://127.0.0.1:8080", invoke="http://127.0.0.1:8081",
                    aws="http://127.0.0.1:5000", functions={"api": "acme-dev-api"})  # fmt: skip


def test_the_lock_admits_one_holder_and_names_it(tmp_path: Path) -> None:
    first, second = DevLock(tmp_path), DevLock(tmp_path)
    first.acquire()
    state(os.getpid()).write(tmp_path)
    with pytest.raises(
        LocalCloudError, match=rf"already runs for this project \(pid {os.getpid()}, http://127\.0\.0\.1:8080\)"
    ):
        second.acquire()
    first.release()
    second.acquire()  # free again
    second.release()


def test_the_lock_of_a_killed_stack_does_not_block_the_next(tmp_path: Path) -> None:
    # GIVEN a process that took the lock and was killed with SIGKILL (no clean-up of any kind)
    code = (
        "import pathlib, os; from stratus.local.state import DevLock; "
        f"DevLock(pathlib.Path({str(tmp_path)!r})).acquire(); os.kill(os.getpid(), 9)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == -9
    # THEN the lock is free
    lock = DevLock(tmp_path)
    lock.acquire()
    lock.release()


def test_the_state_of_a_dead_stack_reads_as_no_stack(tmp_path: Path) -> None:
    (tmp_path / ".stratus").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    state(int(dead.stdout)).write(tmp_path)
    assert DevState.read(tmp_path) is None
    state(os.getpid()).write(tmp_path)
    assert DevState.read(tmp_path) == state(os.getpid())
