"""What a running ``stratus dev`` tells other processes, and the lock that makes it the only one per project.

``.stratus/dev.json`` (:class:`DevState`) says where the parts listen and which functions run, for
``stratus invoke``, ``trigger``, ``apikey``, ``logs`` and tests. ``.stratus/dev.lock`` (:class:`DevLock`) is held
with ``flock`` for as long as the stack runs: a second ``stratus dev`` in the same project stops at once, naming
the running one, instead of starting beside it and replacing its state file. The kernel drops the lock when the
process dies, however it dies, so a stack killed with ``kill -9`` never blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from stratus import paths
from stratus.errors import LocalCloudError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class DevState:
    pid: int
    env: str
    region: str
    api: str
    invoke: str
    aws: str
    databases: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # source ("worker", "worker/jobs") -> AWS name
    handlers: dict[str, str] = field(default_factory=dict)  # source -> handler
    schedules: dict[str, str] = field(default_factory=dict)  # source -> expression
    containers: dict[str, str] = field(default_factory=dict)  # service -> URL
    console: str | None = None  # the local console's URL, when it runs

    def write(self, root: Path) -> None:
        path = paths.dev_state(root)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, root: Path) -> DevState | None:
        """The state of the stack running for the project at ``root``, or None when none runs."""
        try:
            data = json.loads(paths.dev_state(root).read_text())
            state = cls(**data)
        except (OSError, ValueError, TypeError):
            return None
        return state if _alive(state.pid) else None  # else left behind by a stack that was killed

    @staticmethod
    def remove(root: Path) -> None:
        with contextlib.suppress(OSError):
            paths.dev_state(root).unlink()


class DevLock:
    """The project's one running ``stratus dev``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise naming the stack that holds it."""
        path = paths.dev_lock(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            running = DevState.read(self.root)
            where = f", {running.api}" if running is not None else ", still starting"
            raise LocalCloudError(
                f"stratus dev already runs for this project (pid {holder}{where})",
                hint=f"use that stack (stratus invoke, apikey and logs reach it), or stop it first (Ctrl-C in its "
                f"terminal, or kill {holder})",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True
