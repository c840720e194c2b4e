"""A function's figures as CloudWatch's Lambda metrics count them (Invocations, Errors, Throttles, Duration),
plus its cold starts and its last error: what the local console shows per function.

Kept always, at the cost of a few increments per invocation; percentiles are computed only when asked, over
the last :data:`WINDOW` durations.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass

WINDOW = 1000  # durations kept for p50/p99


@dataclass(frozen=True, slots=True)
class LastError:
    time: float
    request_id: str
    type: str
    message: str
    trace: tuple[str, ...]


class FunctionStats:
    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.cold_starts = 0
        self.durations: deque[float] = deque(maxlen=WINDOW)
        self.last_error: LastError | None = None

    def invoked(self, request_id: str, duration_ms: float, cold: bool, error_payload: bytes | None) -> None:
        """One invocation ended (``error_payload``: Lambda's error document when it failed)."""
        self.invocations += 1
        self.durations.append(duration_ms)
        if cold:
            self.cold_starts += 1
        if error_payload is not None:
            self.errors += 1
            self.last_error = _last_error(request_id, error_payload)

    def throttled(self) -> None:
        self.throttles += 1

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile (nearest rank) of the recent durations, in ms."""
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
        return ordered[int(rank) - 1]


def _last_error(request_id: str, payload: bytes) -> LastError:
    """Lambda's error document (errorType, errorMessage, stackTrace) as the console shows it."""
    try:
        doc = json.loads(payload)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return LastError(time.time(), request_id, "Unhandled", payload[:2000].decode(errors="replace"), ())
    trace = doc.get("stackTrace") or ()
    lines = tuple(str(line) for line in trace) if isinstance(trace, list) else (str(trace),)
    return LastError(
        time.time(), request_id, str(doc.get("errorType", "Unhandled")), str(doc.get("errorMessage", "")), lines
    )
