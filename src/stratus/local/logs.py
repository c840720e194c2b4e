"""One log stream for the whole stack: each line prefixed by its source and request id.

Lines written while the event loop runs are buffered and written out together every 20 ms (Lambda alone
logs three lines an invocation; a write per line cost a sixth of the local cloud's CPU under load);
outside a loop, or with ``buffered=False``, each line goes out at once. On a terminal each
source gets its own colour. The hot path uses plain string operations, not rich.

With ``log_dir``, each source's lines are also copied (without colour) to ``<log_dir>/<source>.log``
(``worker/jobs`` -> ``worker.jobs.log``),
emptied when the sink first writes to it: what ``stratus logs SERVICE`` reads.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

Tap = Callable[[str, str, str | None], None]  # source, line, request id

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")
_RESET = "\x1b[0m"
FLUSH_INTERVAL_S = 0.02


class LogSink:
    """Writes ``<time> <source> | [<request id>] <line>`` lines to a stream."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        colour: bool | None = None,
        buffered: bool = True,
        log_dir: Path | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.buffered = buffered
        self._prefixes: dict[str, str] = {}
        self._width = 8
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""
        self.log_dir = log_dir
        self._copies: list[tuple[str, str]] = []
        self._files: dict[str, TextIO] = {}
        self.tap: Tap | None = None  # also given every line (the local console keeps the recent ones)

    def register(self, source: str) -> None:
        """Announce a source up front so the prefixes line up."""
        self._width = max(self._width, len(source))
        self._prefixes.clear()

    def _prefix(self, source: str) -> str:
        prefix = self._prefixes.get(source)
        if prefix is None:
            text = source.ljust(self._width)
            if self.colour:
                code = _COLOURS[len(self._prefixes) % len(_COLOURS)]
                text = f"\x1b[{code}m{text}{_RESET}"
            prefix = self._prefixes[source] = f"{text} | "
        return prefix

    def write(self, source: str, line: str, request_id: str | None = None) -> None:
        if self.tap is not None:
            self.tap(source, line, request_id)
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
        rid = f"{request_id[:8]} " if request_id else ""
        self._pending.append(f"{self._stamp} {self._prefix(source)}{rid}{line.rstrip()}\n")
        if self.log_dir is not None:
            self._copies.append((source, f"{self._stamp} {rid}{line.rstrip()}\n"))
        if len(self._pending) > 1:
            return  # a flush is already scheduled
        if self.buffered:
            try:
                asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)
                return
            except RuntimeError:  # no loop running: write now
                pass
        self.flush()

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away; logs are best effort
            pass
        if self._copies:
            self._write_copies()

    def _write_copies(self) -> None:
        copies, self._copies = self._copies, []
        touched = set()
        for source, text in copies:
            handle = self._files.get(source)
            if handle is None and self.log_dir is not None:
                try:
                    self.log_dir.mkdir(parents=True, exist_ok=True)
                    name = source.replace("/", ".")  # worker/jobs -> worker.jobs.log
                    handle = self._files[source] = (self.log_dir / f"{name}.log").open("w", encoding="utf-8")
                except OSError:  # a copy is best effort too
                    continue
            if handle is not None:
                handle.write(text)
                touched.add(handle)
        for handle in touched:
            handle.flush()

    def close(self) -> None:
        """Write what is pending and close the per-source copies."""
        self.flush()
        for handle in self._files.values():
            handle.close()
        self._files.clear()
