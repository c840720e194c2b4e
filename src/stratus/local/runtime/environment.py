"""One Lambda execution environment: a runtime process (awslambdaric) and the Runtime API it polls.

Its life is Lambda's: *init* (start the process, import the handler: done when the runtime first asks for
an event, failed when it posts ``/init/error`` or exits), then one invocation at a time, until it times
out, crashes, is reloaded or the stack stops. A dead environment is never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stratus.local import processes
from stratus.local.runtime.api import Invocation, Outcome, serve
from stratus.local.runtime.output import OutputPipe, open_pipe

LogFn = Callable[[str, "str | None"], None]
RESPONSE_LIMIT = 6 * 1024 * 1024 + 100  # Lambda's synchronous response payload quota, as Lambda counts it
TOO_LARGE = (
    '{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).",'
    '"errorType":"Function.ResponseSizeTooLarge"}'
)


class InitError(Exception):
    """The environment did not initialise; ``payload`` is the error as Lambda reports it.

    ``reported`` is True when the runtime itself reported the failure (``/init/error``: the handler cannot
    be imported or found), which will happen again on every start until the code changes; False when the
    process died or overran the init limit, which may well not happen again.
    """

    def __init__(self, payload: bytes, *, reported: bool = False) -> None:
        super().__init__(payload.decode(errors="replace"))
        self.payload = payload
        self.reported = reported


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def exit_reason(returncode: int) -> str:
    """Lambda's wording for how a runtime process ended (``exit status 1``, ``signal: segmentation fault``)."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal: {-returncode}"
    words = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed", "SIGABRT": "aborted", "SIGTERM": "terminated"}
    return f"signal: {words.get(name, name.lower())}"


class Environment:
    """A runtime process plus its own Runtime API; serves one invocation at a time."""

    def __init__(
        self,
        *,
        handler: str,
        task_root: Path,
        environ: Mapping[str, str],
        log: LogFn,
        on_exit: Callable[[Environment], None],
        argv: Sequence[str] | None = None,
    ) -> None:
        self.handler = handler
        self.task_root = task_root
        self.environ = environ
        self.log = log
        self.on_exit = on_exit
        # What starts the runtime client; the handler is appended. Default: awslambdaric in this interpreter,
        # with the invoke loop over a Unix socket (see stratus.local.runtime.bootstrap); a given argv runs an
        # unmodified runtime client against the HTTP Runtime API.
        self.fast = not argv
        self.argv: tuple[str, ...] = tuple(argv) if argv else (sys.executable, "-m", "stratus.local.runtime.bootstrap")
        self.process: asyncio.subprocess.Process | None = None
        self.server: asyncio.Server | None = None
        self.current: Invocation | None = None
        self.retire = False  # finish the current invocation, then go away (code reloaded)
        self.init_duration_ms = 0.0
        self.invocations = 0
        self._deliver: Callable[[Invocation], None] | None = None
        self._pending: Invocation | None = None
        self._ready: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._memory_mb = 0
        self._memory_read_at = 0.0
        self._channel: asyncio.BaseTransport | None = None
        self.output: OutputPipe | None = None
        self._settled: str | None = None  # the request id whose result was taken last

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    # ----------------------------------------------------------------------------------------- life cycle

    async def start(self, init_timeout: float) -> None:
        """Start the runtime and wait for its init phase; raises :class:`InitError` if it fails."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self.server, port = await serve(self)
        environ = {**self.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"}
        started = time.perf_counter()
        pass_fds: tuple[int, ...] = ()
        if self.fast:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            environ["STRATUS_RUNTIME_FD"] = str(theirs.fileno())
            pass_fds = (theirs.fileno(),)
        write_fd, self.output = await open_pipe(self._output_line)
        try:
            self.process = await processes.spawn(
                [*self.argv, self.handler], env=environ, cwd=self.task_root, pass_fds=pass_fds, stdout=write_fd
            )
        finally:
            os.close(write_fd)
            if self.fast:
                theirs.close()
        if self.fast:
            self._channel, _ = await loop.create_unix_connection(lambda: FrameChannel(self), sock=mine)
        self._tasks = [asyncio.create_task(self._watch_exit())]
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), init_timeout)
        except TimeoutError:
            await self.kill()
            raise InitError(
                error_payload("Runtime.InitTimeout", f"Init did not finish within {init_timeout:.2f} seconds")
            ) from None
        except InitError:
            await self.kill()
            raise
        self.init_duration_ms = (time.perf_counter() - started) * 1000

    async def kill(self) -> None:
        if self.process is not None:
            processes.kill_group(self.process)
            with contextlib.suppress(Exception):
                await self.process.wait()
        for task in self._tasks:
            if task is not asyncio.current_task():
                await asyncio.gather(task, return_exceptions=True)
        self._close_server()

    def _close_server(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.output is not None and self.output.closed.done():
            self.output.close()

    # ---------------------------------------------------------------------------------------- invocation

    def invoke(self, invocation: Invocation, timeout: float, on_timeout: Callable[[Invocation], None]) -> None:
        """Hand the event to the runtime; the outcome lands in ``invocation.future``."""
        self.current = invocation
        self.invocations += 1
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(timeout, on_timeout, invocation)
        if self._deliver is not None:
            deliver, self._deliver = self._deliver, None
            deliver(invocation)
        else:
            self._pending = invocation

    def _finish(self, outcome: Outcome) -> bool:
        invocation = self.current
        if invocation is None or invocation.future.done():
            return False
        self._settled = invocation.request_id
        if self.output is not None:  # a last line without a newline is still this invocation's
            self.output.flush()
        self.current = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        invocation.future.set_result(outcome)
        return True

    def fail_current(self, outcome: Outcome) -> None:
        """End the running invocation from outside (timeout, crash)."""
        self._finish(outcome)

    def _output_line(self, line: str) -> None:
        current = self.current
        self.log(line, current.request_id if current else None)

    # ------------------------------------------------------------------------------- RuntimeApiBackend

    def next_invocation(self, deliver: Callable[[Invocation], None]) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        pending, self._pending = self._pending, None
        if pending is not None:
            deliver(pending)
        else:
            self._deliver = deliver

    def invocation_result(self, request_id: str, outcome: Outcome) -> int:
        """Take the runtime's result; the Runtime API's status for it: 202, 413 (the response is over Lambda's
        limit: the invocation fails with ``Function.ResponseSizeTooLarge``), 403 (this invocation's result was
        already posted) or 400 (no such invocation)."""
        current = self.current
        if current is None or current.request_id != request_id:
            return 403 if request_id == self._settled else 400
        status = 202
        if not outcome.failed and len(outcome.payload) > RESPONSE_LIMIT:
            outcome, status = Outcome(TOO_LARGE.encode(), "Unhandled"), 413
        self._finish(outcome)
        return status

    def socket_result(self, request_id: str, outcome: Outcome, deliver: Callable[[Invocation], None]) -> None:
        """A result over the socket: the runtime then waits for its next event without asking."""
        if self.invocation_result(request_id, outcome) in (202, 413):
            self.next_invocation(deliver)

    def init_error(self, body: bytes, error_type: str | None) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(InitError(body, reported=True))

    # ------------------------------------------------------------------------------------------ watchers

    async def _watch_exit(self) -> None:
        assert self.process is not None
        code = await self.process.wait()
        reason = exit_reason(code)
        if self.output is not None:  # what it wrote before it died is logged before its death
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.output.closed), 1.0)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(
                InitError(
                    error_payload("Runtime.ExitError", f"RequestId: - Error: Runtime exited with error: {reason}")
                )
            )
        current = self.current
        if current is not None:
            message = f"RequestId: {current.request_id} Error: Runtime exited with error: {reason}"
            self.log(message, current.request_id)
            self.fail_current(Outcome(error_payload("Runtime.ExitError", message), "Unhandled", "Runtime.ExitError"))
        self._close_server()
        self.on_exit(self)

    def max_memory_mb(self) -> int:
        """Peak resident memory of the runtime process (``VmHWM``), as REPORT's Max Memory Used.

        Read at most every 0.2 s: it is a file read per invocation otherwise, on the hot path.
        """
        now = time.monotonic()
        if now - self._memory_read_at < 0.2:
            return self._memory_mb
        self._memory_read_at = now
        self._memory_mb = self._read_memory_mb()
        return self._memory_mb

    def _read_memory_mb(self) -> int:
        if self.process is None:
            return 0
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0


class FrameChannel(asyncio.Protocol):
    """The local cloud's end of the runtime's Unix socket (frames: see stratus.local.runtime.bootstrap)."""

    HEADER = struct.Struct("!II")

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def deliver(self, invocation: Invocation) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        context = invocation.client_context or ""
        header = (
            f"{invocation.request_id}\t{invocation.deadline_ms}\t{invocation.function_arn}\t"
            f"{invocation.trace_id}\t{context}"
        ).encode()
        self.transport.write(self.HEADER.pack(len(header), len(invocation.payload)) + header + invocation.payload)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        size = self.HEADER.size
        while len(buffer) >= size:
            header_size, body_size = self.HEADER.unpack_from(buffer)
            end = size + header_size + body_size
            if len(buffer) < end:
                return
            header = bytes(buffer[size : size + header_size]).decode()
            body = bytes(buffer[size + header_size : end])
            del buffer[:end]
            self._dispatch(header, body)

    def _dispatch(self, header: str, body: bytes) -> None:
        kind, _, rest = header.partition("\t")
        if kind == "N":
            self.env.next_invocation(self.deliver)
        elif kind in ("R", "E"):
            request_id, _, detail = rest.partition("\t")
            outcome = Outcome(body) if kind == "R" else Outcome(body, detail or "Unhandled")
            self.env.socket_result(request_id, outcome, self.deliver)
