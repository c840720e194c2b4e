"""The transactional outbox of the ``record-events`` queue: every stored record reaches the players service.

``POST /`` writes the record and its ``record_outbox`` row (the message body, :meth:`records.store.StoredRecord.event`)
in one transaction (:func:`records.store.create_record`). After the commit, :func:`deliver` sends the message to
``RECORD_EVENTS_QUEUE_URL`` and marks the row sent. When that fails (SQS, the network, the database, the function
timing out), nothing is lost: the row stays unsent, and the scheduled :func:`handler` (``records.outbox.handler``,
every minute) sends again every row left unsent for :data:`RESEND_AFTER` or more. It takes rows with
``SELECT ... FOR UPDATE SKIP LOCKED``, so two overlapping sweeps never send the same row at once, and sends them in
batches of ten. A row that fails again keeps its ``attempts`` count and ``last_error`` (an AWS error code), and is tried
at the next sweep. Sent rows are deleted after :data:`KEEP_SENT`.

Delivery is at least once: a message may be sent twice (sent, then the mark lost), which the players service's
consumer absorbs (it counts each ``record_id`` once). The message body (the contract)::

    {"record_id": "<uuid>", "player_id": "<sub>", "text_id": "t-42", "difficulty": "medium",
     "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3, "created_at": "2026-03-10T12:00:00.123456Z"}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from stratus_common.aws_errors import error_code, is_aws_error
from stratus_common.logging import get_logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from sqlalchemy import Connection

__all__ = [
    "BATCH_ROWS",
    "KEEP_SENT",
    "RESEND_AFTER",
    "Message",
    "SweepResult",
    "deliver",
    "handler",
    "send",
    "sqs_client",
    "sweep",
]

RESEND_AFTER = timedelta(seconds=30)
"""An unsent row younger than this is left to the request that wrote it."""
BATCH_ROWS = 50
"""Rows taken (and locked) per sweep transaction."""
MAX_BATCHES = 10
"""Transactions per sweep: at most ``BATCH_ROWS * MAX_BATCHES`` messages a minute; the next sweep goes on."""
KEEP_SENT = timedelta(days=7)
_SQS_BATCH = 10  # SendMessageBatch's limit
_MIN_REMAINING_MS = 5_000

logger = get_logger("records")


@dataclass(frozen=True, slots=True)
class Message:
    """An outbox row to send: the record's id and the message body."""

    record_id: UUID
    body: dict[str, Any]


@dataclass
class SweepResult:
    """What a sweep did."""

    sent: int = 0
    failed: int = 0
    purged: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "purged": self.purged, "errors": self.errors}


def sqs_client() -> SQSClient:
    """The process's SQS client, with short timeouts (a request waits on it)."""
    from stratus_common.aws import FAST_CONFIG, client

    return client("sqs", config=FAST_CONFIG)


def _queue_url() -> str:
    from stratus_common.settings import queue_url

    return queue_url("record-events")


def send(sqs: SQSClient, queue_url: str, messages: Sequence[Message]) -> tuple[list[UUID], dict[UUID, str]]:
    """Send *messages* in batches of ten; return the ids SQS took and, for the others, why not (an error code)."""
    sent: list[UUID] = []
    failed: dict[UUID, str] = {}
    for start in range(0, len(messages), _SQS_BATCH):
        batch = {str(index): message for index, message in enumerate(messages[start : start + _SQS_BATCH])}
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": index, "MessageBody": json.dumps(message.body, separators=(",", ":"))}
                    for index, message in batch.items()
                ],
            )
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            reason = error_code(exc) or type(exc).__name__
            failed.update((message.record_id, reason) for message in batch.values())
            continue
        sent.extend(batch[entry["Id"]].record_id for entry in response.get("Successful", []))
        failed.update(
            (batch[entry["Id"]].record_id, entry.get("Code", "failed")) for entry in response.get("Failed", [])
        )
    return sent, failed


def _mark_sent(connection: Connection, record_ids: Sequence[UUID]) -> None:
    from sqlalchemy import func, update

    from records.models import record_outbox

    if record_ids:
        connection.execute(
            update(record_outbox)
            .where(record_outbox.c.record_id.in_(record_ids), record_outbox.c.sent_at.is_(None))
            .values(sent_at=func.now(), attempts=record_outbox.c.attempts + 1, last_error=None)
        )


def _mark_failed(connection: Connection, failures: dict[UUID, str]) -> None:
    from sqlalchemy import update

    from records.models import record_outbox

    for record_id, code in failures.items():
        connection.execute(
            update(record_outbox)
            .where(record_outbox.c.record_id == record_id)
            .values(attempts=record_outbox.c.attempts + 1, last_error=code[:200])
        )


def deliver(message: Message) -> bool:
    """Send a just-committed record's message and mark its row sent; ``False`` (logged) if either failed, which the
    sweep makes good. Never raises: the record is stored whatever happens here."""
    from records import db

    try:
        sent, failed = send(sqs_client(), _queue_url(), [message])
        if failed:
            logger.warning(
                "Record event not sent; the outbox sweep will resend it",
                extra={"record_id": str(message.record_id), "reason": failed[message.record_id]},
            )
            return False
        with db.transaction() as connection:
            _mark_sent(connection, sent)
    except Exception as exc:
        logger.warning(
            "Record event delivery failed; the outbox sweep will resend it",
            extra={"record_id": str(message.record_id), "reason": db.describe(exc)},
        )
        return False
    return True


def _take(connection: Connection, limit: int) -> list[Message]:
    from sqlalchemy import func, select

    from records.models import record_outbox

    rows = connection.execute(
        select(record_outbox.c.record_id, record_outbox.c.payload)
        .where(record_outbox.c.sent_at.is_(None), record_outbox.c.created_at < func.now() - RESEND_AFTER)
        .order_by(record_outbox.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Message(record_id=row.record_id, body=row.payload) for row in rows]


def _purge(connection: Connection) -> int:
    from sqlalchemy import delete, func, select

    from records.models import record_outbox

    old = (
        select(record_outbox.c.record_id)
        .where(record_outbox.c.sent_at < func.now() - KEEP_SENT)
        .limit(1_000)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return int(connection.execute(delete(record_outbox).where(record_outbox.c.record_id.in_(old))).rowcount)


def sweep(sqs: SQSClient, queue_url: str, *, remaining_ms: Any = None) -> SweepResult:
    """Send the rows left unsent for :data:`RESEND_AFTER` (see the module's docstring); purge old sent rows.

    *remaining_ms* (the Lambda context's ``get_remaining_time_in_millis``) stops the sweep before the function's
    deadline."""
    from records import db

    result = SweepResult()
    for _ in range(MAX_BATCHES):
        if remaining_ms is not None and remaining_ms() < _MIN_REMAINING_MS:
            break
        with db.transaction() as connection:
            messages = _take(connection, BATCH_ROWS)
            if not messages:
                break
            sent, failed = send(sqs, queue_url, messages)
            _mark_sent(connection, sent)
            _mark_failed(connection, failed)
        result.sent += len(sent)
        result.failed += len(failed)
        for code in failed.values():
            result.errors[code] = result.errors.get(code, 0) + 1
        if failed or len(messages) < BATCH_ROWS:
            break
    with db.transaction() as connection:
        result.purged = _purge(connection)
    return result


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled function (EventBridge, every minute): :func:`sweep`."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    result = sweep(sqs_client(), _queue_url(), remaining_ms=remaining)
    if result.sent or result.failed or result.purged:
        logger.info("Outbox swept", extra=result.as_dict())
    return result.as_dict()
