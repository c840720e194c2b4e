"""The stats consumer: ``players.stats.handler``, invoked by the event source mapping of the ``record-events`` queue.

The records service sends one message per new game record; its body is a :class:`RecordEvent` as JSON::

    {"record_id": "r-123", "player_id": "<sub>", "text_id": "t-9", "difficulty": "medium",
     "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3, "created_at": "2026-03-10T12:00:00Z"}

For each message the consumer counts the game in the player's totals (:meth:`players.stats_store.StatsStore.apply`:
the totals and a marker of the record, in one transaction), so a message delivered twice, even to two concurrent
invocations, is counted once. The batch is processed with Powertools' ``BatchProcessor``: the answer is the partial
batch response of ``ReportBatchItemFailures`` (``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``), and only
the messages named there come back:

- a message that is not JSON, or not a record event (a field missing or out of range), fails; after
  ``max_receive_count`` (5) receives SQS moves it to the dead-letter queue, where it can be inspected;
- a DynamoDB error, or totals that kept changing under every attempt, fail the message too: SQS delivers it again
  after the visibility timeout, and the marker makes that harmless.

Fields the contract does not know are ignored, so that the records service can add some without breaking this one.

A cold start of this consumer imports only what counting needs: Powertools' batch utility (not imported by
:mod:`players.main`, so the HTTP API's cold start does not pay for it) and the standard library. The eight fields of
the contract are checked by :meth:`RecordEvent.from_dict`, not by a pydantic model: importing pydantic and building
the model took 80 ms of a 216 ms cold start (``bench/cold_start.py --only players``), for a message no client writes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from stratus_common.logging import get_logger

from players.ids import PLAYER_ID_PATTERN
from players.stats_store import Game, StatsStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["InvalidRecordEvent", "RecordEvent", "handler", "process_batch", "stats_store"]

logger = get_logger("players")

_ID = re.compile(PLAYER_ID_PATTERN)
_MAX_WPM = Decimal(10_000)
_MAX_ACCURACY = Decimal(100)


class InvalidRecordEvent(ValueError):
    """A message on ``record-events`` that is not a record event; retrying cannot fix it."""


def _text(
    data: dict[str, Any], name: str, bad: list[str], *, pattern: re.Pattern[str] | None = None, max_length: int = 128
) -> str:
    """A string matching *pattern*, or of 1 to *max_length* characters."""
    value = data.get(name)
    if not isinstance(value, str) or not (pattern.fullmatch(value) if pattern else 0 < len(value) <= max_length):
        bad.append(name)
        return ""
    return value


def _number(data: dict[str, Any], name: str, bad: list[str], *, maximum: Decimal | None = None) -> Decimal:
    """A number, finite, from 0 to *maximum*; a float is taken as its shortest repr (``72.5``, not the binary
    fraction nearest to it)."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        bad.append(name)  # a string, null, an object...
        return Decimal(0)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number < 0 or (maximum is not None and number > maximum):
        bad.append(name)
    return number


def _aware_time(data: dict[str, Any], name: str, bad: list[str]) -> datetime:
    """ISO 8601 with a time zone (``Z`` or an offset)."""
    value = data.get(name)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        bad.append(name)
        return datetime.min
    return moment


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """The body of a ``record-events`` message: one new game record. The records service's side of the contract
    is :meth:`records.store.StoredRecord.event`."""

    record_id: str  # 1-128 of A-Z a-z 0-9 . _ : @ -, the first alphanumeric
    player_id: str  # the account's sub: the player's id, as record_id
    text_id: str  # 1-128 characters
    difficulty: str  # 1-32 characters, e.g. easy, medium, hard
    wpm: Decimal  # words per minute, 0-10,000
    accuracy: Decimal  # percent, 0-100
    duration_seconds: Decimal  # >= 0
    created_at: datetime  # when the game was played, with a time zone

    @classmethod
    def from_dict(cls, data: object) -> RecordEvent:
        """The record event in a decoded JSON body; :class:`InvalidRecordEvent` naming every field that is missing
        or out of range (``body`` when it is not an object). Fields the contract does not name are ignored."""
        if not isinstance(data, dict):
            raise InvalidRecordEvent("not a record event: body")
        bad: list[str] = []
        event = cls(
            record_id=_text(data, "record_id", bad, pattern=_ID),
            player_id=_text(data, "player_id", bad, pattern=_ID),
            text_id=_text(data, "text_id", bad),
            difficulty=_text(data, "difficulty", bad, max_length=32),
            wpm=_number(data, "wpm", bad, maximum=_MAX_WPM),
            accuracy=_number(data, "accuracy", bad, maximum=_MAX_ACCURACY),
            duration_seconds=_number(data, "duration_seconds", bad),
            created_at=_aware_time(data, "created_at", bad),
        )
        if bad:
            raise InvalidRecordEvent(f"not a record event: {', '.join(sorted(bad))}")
        return event

    def game(self) -> Game:
        """The game, as the stats count it."""
        return Game(
            player_id=self.player_id,
            record_id=self.record_id,
            wpm=self.wpm,
            accuracy=self.accuracy,
            played_at=self.created_at,
        )


def parse_record_event(body: str | None) -> RecordEvent:
    """The record event in a message body; :class:`InvalidRecordEvent` if it is not one. JSON numbers are decoded
    as exact decimals (``72.5`` is ``Decimal("72.5")``, not the nearest float)."""
    try:
        data = json.loads(body or "", parse_float=Decimal)
    except ValueError:  # not JSON (JSONDecodeError), or an integer of over 4,300 digits
        raise InvalidRecordEvent("not a record event: body") from None
    return RecordEvent.from_dict(data)


def stats_store() -> StatsStore:
    """The player-stats table (``PLAYER_STATS_TABLE_NAME``), with the process's DynamoDB client."""
    from stratus_common.aws import client
    from stratus_common.settings import table_name

    return StatsStore(client("dynamodb"), table_name("player-stats"))


def process_batch(event: dict[str, Any], store: StatsStore, context: Any = None) -> dict[str, Any]:
    """Count every record event of an SQS batch in *store*; return the partial batch response.

    An event that is not an SQS batch raises (Powertools' ``UnexpectedBatchTypeError``); an empty one is answered.
    """
    if event.get("Records") == []:
        return {"batchItemFailures": []}

    def count(record: SQSRecord) -> None:
        extra = {"message_id": record.message_id}
        try:
            record_event = parse_record_event(record.body)
        except InvalidRecordEvent as exc:
            logger.error("Not a record event; it will end in the DLQ", extra={**extra, "reason": str(exc)})
            raise
        extra.update(record_id=record_event.record_id, player_id=record_event.player_id)
        try:
            counted = store.apply(record_event.game())
        except Exception:
            # DynamoDB throttled or unreachable, or the totals kept changing: SQS delivers the message again.
            logger.exception("Could not count the game; it will be retried", extra=extra)
            raise
        if counted:
            logger.info("Game counted", extra=extra)
        else:
            logger.info("Game counted already; duplicate delivery skipped", extra=extra)

    # One processor per batch: it collects the batch's outcomes, so it must not be shared between invocations.
    # A batch whose every message failed is answered like any other (all of them listed), rather than raised.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=count, processor=processor, context=context)
    )
    return response


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for SQS batches (the event source mapping must enable ReportBatchItemFailures)."""
    return process_batch(event, stats_store(), context)
