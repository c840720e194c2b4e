"""Child processes that never outlive the local cloud.

Every process the local cloud starts gets its own process group (so a kill takes its children too) and
``PR_SET_PDEATHSIG`` (so even a SIGKILL of ``stratus dev`` takes it down: the kernel sends it SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence

from stratus.errors import LocalCloudError

_PR_SET_PDEATHSIG = 1


def _own_group_dying_with_parent() -> None:  # runs in the child between fork and exec
    os.setpgid(0, 0)
    if sys.platform != "linux":
        return
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    merge_stderr: bool = True,
    pass_fds: tuple[int, ...] = (),
    stdout: int = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    """Start ``argv`` in its own process group, tied to this process's life; output is piped (to ``stdout`` when
    given: a file descriptor the caller reads)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        preexec_fn=_own_group_dying_with_parent,
        pass_fds=pass_fds,
    )


def kill_group(proc: asyncio.subprocess.Process, sig: int = signal.SIGKILL) -> None:
    """Signal the process and everything in its group; a process already gone is fine."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def stop(proc: asyncio.subprocess.Process, grace: float = 3.0) -> None:
    """SIGTERM the group, then SIGKILL it if it has not exited within ``grace`` seconds."""
    if proc.returncode is not None:
        return
    kill_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        kill_group(proc, signal.SIGKILL)
        await proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bind(host: str, port: int, what: str, option: str = "--port") -> socket.socket:
    """A listening socket on ``host:port``, or an error that names the port, what wanted it, and the ``option``
    that moves it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LocalCloudError(
            f"port {port} on {host} is already in use ({what})",
            hint=f"stop what listens there (`ss -ltnp 'sport = :{port}'` names it) or pass {option} with another port",
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child starts from: this one without AWS settings that would leak into it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRATUS_", "_HANDLER", "LAMBDA_"))}
    if extra:
        env.update(extra)
    return env
