"""A runtime's output (its stdout and stderr share one pipe), line by line into the function's log.

In Lambda every line a function writes during an invocation belongs to that invocation: it is logged between
``START`` and ``END`` and is in the invocation's ``X-Amz-Log-Result`` tail. Output and result travel apart (this
pipe, the runtime's socket), so the order matters: the runtime writes its output before it posts the result
(awslambdaric's streams are unbuffered), so when the event loop reads the result, the output written before it is
readable too, and this protocol logs it in that same pass of the loop (it is called as the bytes are read, with no
task in between); the invocation ends (``END``) in a later pass. Before, a reader task one hop behind logged a fast
handler's last print, or an unhandled exception's traceback, after ``END``.

A line longer than :data:`MAX_LINE` is logged in pieces, as CloudWatch splits events; a multi-line record that the
runtime joined with ``\\r`` (so CloudWatch keeps it as one event) is logged line by line here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

MAX_LINE = 256 * 1024  # CloudWatch Logs' event size


class OutputPipe(asyncio.Protocol):
    """The read end of a runtime's output pipe: calls ``on_line`` for each line."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.buffer = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        end = buffer.rfind(b"\n")
        if end >= 0:
            self._emit(bytes(buffer[:end]))
            del buffer[: end + 1]
        while len(buffer) > MAX_LINE:
            self._emit(bytes(buffer[:MAX_LINE]))
            del buffer[:MAX_LINE]

    def connection_lost(self, exc: Exception | None) -> None:
        self.flush()
        if not self.closed.done():
            self.closed.set_result(None)

    def flush(self) -> None:
        """Log a last line that has no newline yet (``print(..., end="")`` just before returning)."""
        if self.buffer:
            self._emit(bytes(self.buffer))
            self.buffer.clear()

    def _emit(self, chunk: bytes) -> None:
        for line in chunk.decode(errors="replace").split("\n"):
            for part in line.rstrip().split("\r"):
                self.on_line(part)


async def open_pipe(on_line: Callable[[str], None]) -> tuple[int, OutputPipe]:
    """A pipe for a runtime's output: the write end (for the child, to be closed here once it has started), and the
    protocol reading the other end."""
    read_fd, write_fd = os.pipe()
    loop = asyncio.get_running_loop()
    _, protocol = await loop.connect_read_pipe(lambda: OutputPipe(on_line), os.fdopen(read_fd, "rb", buffering=0))
    return write_fd, protocol
