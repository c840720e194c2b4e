"""What the console shows of the past: the last requests through the HTTP API and the last log lines.

Both are kept whether or not the console is open, so opening it shows what already happened; keeping them
costs an append per request or line, since a trace holds references to what the request path made anyway.
Memory is bounded by counts (:data:`REQUESTS`, :data:`LOG_LINES`) and by the bytes requests keep
(:data:`KEPT_BYTES`: the oldest go first). Live views subscribe (:meth:`Recorder.subscribe`); nothing is
serialized for them while nobody is subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from stratus.local.tracing import RequestTrace

REQUESTS = 200
LOG_LINES = 5000
KEPT_BYTES = 32 * 1024 * 1024  # request bodies, events and responses held by the kept requests
SUBSCRIBER_BACKLOG = 2000  # events a live view may fall behind before it is dropped (it reconnects)


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    time: float
    source: str
    request_id: str | None
    line: str


Event = tuple[str, Any]  # kind ("request", "log", ...), its object


class Subscription:
    """One live view: the events since it subscribed, until it falls too far behind."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)

    def put(self, event: Event) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True


class Recorder:
    def __init__(self) -> None:
        self._requests: OrderedDict[str, tuple[RequestTrace, int]] = OrderedDict()  # id -> trace, bytes it holds
        self._kept = 0
        self._logs: deque[LogLine] = deque(maxlen=LOG_LINES)
        self._seq = itertools.count(1)
        self._subscribers: set[Subscription] = set()

    # ------------------------------------------------------------------------------------- recording

    def record(self, trace: RequestTrace) -> None:
        """A request has been answered (``HttpApi.recorder``)."""
        size = len(trace.request.body) + len(trace.event or b"") + len(trace.response.body if trace.response else b"")
        self._requests[trace.request_id] = (trace, size)
        self._kept += size
        while self._requests and (len(self._requests) > REQUESTS or self._kept > KEPT_BYTES):
            _, (_, dropped) = self._requests.popitem(last=False)
            self._kept -= dropped
        if self._subscribers:
            self._publish(("request", trace))

    def log(self, source: str, line: str, request_id: str | None) -> None:
        """A log line of the stack (``LogSink.tap``)."""
        entry = LogLine(next(self._seq), time.time(), source, request_id, line.rstrip())
        self._logs.append(entry)
        if self._subscribers:
            self._publish(("log", entry))

    def announce(self, kind: str, what: Any) -> None:
        """Something the live views should learn now (a schedule ran, the functions changed)."""
        if self._subscribers:
            self._publish((kind, what))

    # --------------------------------------------------------------------------------------- reading

    def requests(self) -> list[RequestTrace]:
        """Newest first."""
        return [trace for trace, _ in reversed(self._requests.values())]

    def request(self, request_id: str) -> RequestTrace | None:
        kept = self._requests.get(request_id)
        return kept[0] if kept else None

    def logs(self) -> Iterator[LogLine]:
        return iter(list(self._logs))

    # -------------------------------------------------------------------------------------- live views

    @property
    def watched(self) -> bool:
        return bool(self._subscribers)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def _publish(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            if not subscription.put(event):  # too far behind: end it; the page reconnects and reloads
                self._subscribers.discard(subscription)
                subscription.queue.get_nowait()
                subscription.queue.put_nowait(None)
