"""One log stream for the whole stack: each line prefixed by its source and request id.

Lines go out as soon as they are written; on a terminal each source gets its own colour. This sits on the
hot path (three lines a Lambda invocation), so it formats with plain string operations, not rich.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")
_RESET = "\x1b[0m"


class LogSink:
    """Writes ``<time> <source> | [<request id>] <line>`` lines to a stream."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self._prefixes: dict[str, str] = {}
        self._width = 8

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
        stamp = time.strftime("%H:%M:%S")
        rid = f"{request_id[:8]} " if request_id else ""
        try:
            self.stream.write(f"{stamp} {self._prefix(source)}{rid}{line.rstrip()}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away; logs are best effort
            pass
