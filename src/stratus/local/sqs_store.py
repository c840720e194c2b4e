"""A queue store for moto's SQS whose costs do not grow with the backlog.

moto keeps a queue's messages in one list and scans it several times per call: every send computes the
queue's attributes (three full scans), every receive scans the list and re-reads the retention period per
message (about nine scans each), every delete rebuilds the list. At 10,000 messages a ReceiveMessage takes
5 s (shared/reference/feasibility.md §1b), so a local backlog never drains.

Here a standard queue keeps its messages in a dict (by id, in arrival order), the ones that may be
received in a deque, the in-flight and delayed ones in heaps keyed by the time they become visible, and
every receipt handle in a dict: send, receive, delete and visibility changes cost O(1) amortised (plus
log n for the heaps). The wire API and the semantics stay moto's (and SQS's): visibility timeouts,
ChangeMessageVisibility, delays, retention, long polling, and the redrive to the DLQ on the receive after
``maxReceiveCount`` receives. FIFO queues keep moto's own implementation.

Installed in the moto server process by :func:`install` (``stratus.local.aws_server``), before any queue
exists: the backend class is swapped in moto's ``BackendDict``, which every SQS consumer imports.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterable
from copy import deepcopy
from typing import Any

from moto.core.utils import unix_time_millis
from moto.moto_api._internal import mock_random
from moto.sqs import models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid

_sequence = itertools.count()
VISIBLE, INFLIGHT, DELAYED = "visible", "inflight", "delayed"
DELETED_HANDLES = 10_000  # receipt handles of deleted messages a queue remembers: deleting again succeeds


class RecentHandles:
    """The receipt handles of a queue's most recently deleted messages (moto keeps every one, forever: ~350 bytes
    a message). Deleting a message again with one of them succeeds, as in SQS; past the last ``limit``, the
    handle is unknown (``ReceiptHandleIsInvalid``)."""

    def __init__(self, limit: int = DELETED_HANDLES) -> None:
        self.limit = limit
        self._handles: dict[str, None] = {}

    def __contains__(self, handle: object) -> bool:
        return handle in self._handles

    def update(self, handles: Iterable[str]) -> None:
        for handle in handles:
            self._handles[handle] = None
        while len(self._handles) > self.limit:
            del self._handles[next(iter(self._handles))]

    def __len__(self) -> int:
        return len(self._handles)


class FastQueue(models.Queue):
    """A standard queue with indexed storage (see the module docstring)."""

    def _init_store(self) -> None:
        self.deleted_messages = RecentHandles()  # type: ignore[assignment]
        self._live: dict[str, models.Message] = {}
        self._ready: deque[models.Message] = deque()
        self._waiting: list[tuple[float, int, models.Message]] = []  # (visible at, seq, message)
        self._handles: dict[str, models.Message] = {}
        self._state: dict[str, str] = {}

    # moto reads and (in purge_queue) assigns _messages
    @property
    def _messages(self) -> list[models.Message]:
        return list(self._live.values())

    @_messages.setter
    def _messages(self, value: list[models.Message]) -> None:
        self._init_store()
        for message in value:
            self.add_message(message)

    def _promote(self, now_ms: float) -> None:
        """Messages whose visibility timeout or delay ended become receivable again."""
        waiting = self._waiting
        while waiting and waiting[0][0] <= now_ms:
            _, _, message = heapq.heappop(waiting)
            if message.id not in self._live or self._state.get(message.id) == VISIBLE:
                continue
            if max(message.visible_at, message.delayed_until) > now_ms:  # moved later since: a stale entry
                continue
            self._state[message.id] = VISIBLE
            self.pending_messages.discard(message)
            self._ready.append(message)

    def _park(self, message: models.Message, state: str) -> None:
        self._state[message.id] = state
        heapq.heappush(self._waiting, (max(message.visible_at, message.delayed_until), next(_sequence), message))

    @property
    def messages(self) -> list[models.Message]:
        self._promote(unix_time_millis())
        return [m for m in self._ready if self._state.get(m.id) == VISIBLE and m.id in self._live]

    def has_visible(self) -> bool:
        self._promote(unix_time_millis())
        while self._ready and (self._ready[0].id not in self._live or self._state.get(self._ready[0].id) != VISIBLE):
            self._ready.popleft()
        return bool(self._ready)

    @property
    def approximate_number_of_messages_delayed(self) -> int:
        self._promote(unix_time_millis())
        return sum(1 for state in self._state.values() if state == DELAYED)

    @property
    def approximate_number_of_messages_not_visible(self) -> int:
        self._promote(unix_time_millis())
        return sum(1 for state in self._state.values() if state == INFLIGHT)

    @property
    def approximate_number_of_messages(self) -> int:
        self._promote(unix_time_millis())
        return sum(1 for state in self._state.values() if state == VISIBLE)

    def add_message(self, message: models.Message) -> None:
        with self._messages_lock:
            self._live[message.id] = message
            for handle in message.all_receipt_handles:
                if handle:
                    self._handles[handle] = message
            if message.delayed_until > unix_time_millis():
                self._park(message, DELAYED)
            else:
                message.visible_at = 0
                self._state[message.id] = VISIBLE
                self._ready.append(message)
            self._messages_lock.notify_all()

    def take(self, count: int, visibility_timeout: int, retention_s: int) -> tuple[list[models.Message], list[Any]]:
        """Receive up to ``count`` messages; returns them and the ones due for the DLQ."""
        now_ms = unix_time_millis()
        self._promote(now_ms)
        taken: list[models.Message] = []
        to_dlq: list[models.Message] = []
        again: list[models.Message] = []  # received with visibility 0: visible at once, but not twice in one call
        max_receives = self.redrive_policy["maxReceiveCount"] if self.dead_letter_queue and self.redrive_policy else 0
        while self._ready and len(taken) < count:
            message = self._ready.popleft()
            if message.id not in self._live or self._state.get(message.id) != VISIBLE:
                continue
            if max_receives and message.approximate_receive_count >= max_receives:
                to_dlq.append(message)
                continue
            if (message.sent_timestamp or 0) / 1000 + retention_s <= now_ms / 1000:
                self._forget(message)
                continue
            message.mark_received(visibility_timeout=visibility_timeout)
            if message.receipt_handle:
                self._handles[message.receipt_handle] = message
            self.pending_messages.add(message)
            if visibility_timeout:
                self._park(message, INFLIGHT)
            else:
                self._state[message.id] = VISIBLE
                again.append(message)
            taken.append(message)
        self._ready.extend(again)
        for message in to_dlq:
            self._forget(message)
        return taken, to_dlq

    def _forget(self, message: models.Message) -> None:
        self._live.pop(message.id, None)
        self._state.pop(message.id, None)
        self.pending_messages.discard(message)
        for handle in message.all_receipt_handles:
            self._handles.pop(handle, None)  # type: ignore[arg-type]

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # deleting twice is fine, as in SQS
        message = self._handles.get(receipt_handle)
        if message is None or message.id not in self._live:
            raise ReceiptHandleIsInvalid()
        self.deleted_messages.update(h for h in message.all_receipt_handles if h)
        self._forget(message)

    def change_visibility(self, receipt_handle: str, visibility_timeout: int) -> None:
        message = self._handles.get(receipt_handle)
        if message is None or message.id not in self._live:
            raise ReceiptHandleIsInvalid
        given = unix_time_millis() + int(visibility_timeout) * 1000
        if given - (message.sent_timestamp or 0) > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if int(visibility_timeout) == 0:
            self._state[message.id] = VISIBLE
            self.pending_messages.discard(message)
            self._ready.appendleft(message)
            with self._messages_lock:
                self._messages_lock.notify_all()
        else:
            self._park(message, INFLIGHT)

    def wait_for_messages(self, timeout: int) -> None:
        with self._messages_lock:
            self._messages_lock.wait_for(self.has_visible, timeout=timeout)


class FastSQSBackend(models.SQSBackend):
    """moto's SQS backend, using :class:`FastQueue` for standard queues."""

    def create_queue(self, name: str, tags: dict[str, str] | None = None, **kwargs: Any) -> models.Queue:
        queue = super().create_queue(name, tags, **kwargs)
        if not queue.fifo_queue and not isinstance(queue, FastQueue):
            existing = list(queue._messages)
            queue.__class__ = FastQueue  # type: ignore[type-abstract]
            assert isinstance(queue, FastQueue)
            queue._init_store()
            for message in existing:
                queue.add_message(message)
        return queue

    def send_message(
        self,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> models.Message:
        queue = self.get_queue(queue_name)
        if not isinstance(queue, FastQueue):
            return super().send_message(
                queue_name, message_body, message_attributes, delay_seconds, deduplication_id, group_id,
                system_attributes, validate_group_id,
            )  # fmt: skip
        self._validate_message(
            queue, message_body=message_body, delay_seconds=int(delay_seconds or 0),
            deduplication_id=deduplication_id, group_id=group_id, validate_group_id=validate_group_id,
        )  # fmt: skip
        delay = int(delay_seconds) if delay_seconds is not None else int(getattr(queue, "delay_seconds", 0))
        if delay > models.MAXIMUM_MESSAGE_DELAY:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
            )
        message = models.Message(str(mock_random.uuid4()), message_body, system_attributes)
        if message_attributes:
            message.message_attributes = message_attributes
        message.mark_sent(delay_seconds=delay)
        queue.add_message(message)
        return message

    def receive_message(
        self,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[models.Message]:
        queue = self.get_queue(queue_name)
        if not isinstance(queue, FastQueue):
            return super().receive_message(
                queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names
            )
        deadline = time.time() + wait_seconds_timeout
        retention = _retention(queue)
        while True:
            with queue._messages_lock:
                taken, to_dlq = queue.take(count, visibility_timeout, retention)
            for message in to_dlq:
                queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
            if taken or time.time() >= deadline:
                break
            queue.wait_for_messages(min(1, max(0, int(deadline - time.time() + 0.999))))
        result = []
        for message in taken:
            copy = deepcopy(message)
            models._filter_message_attributes(copy, message_attribute_names or [])
            result.append(copy)
        return result

    def change_message_visibility(self, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        if not isinstance(queue, FastQueue):
            return super().change_message_visibility(queue_name, receipt_handle, visibility_timeout)
        with queue._messages_lock:
            queue.change_visibility(receipt_handle, visibility_timeout)
        return None

    def is_message_valid_based_on_retention_period(self, queue_name: str, message: models.Message) -> bool:
        retention = _retention(self.get_queue(queue_name))
        return bool(retention + (message.sent_timestamp or 0) / 1000 > time.time())


def _retention(queue: models.Queue) -> int:
    """The queue's MessageRetentionPeriod in seconds (moto sets queue attributes dynamically)."""
    return int(vars(queue)["message_retention_period"])


FastSQSBackend.__module__ = "moto.sqs.models"  # moto derives the service from the module name


def install() -> None:
    """Use :class:`FastSQSBackend` for every SQS backend created from now on."""
    models.sqs_backends.backend = FastSQSBackend
    models.sqs_backends.reset()
