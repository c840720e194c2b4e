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
Powertools' batch utility is imported here only, not by :mod:`players.main`: the HTTP API's cold start does not pay
for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from stratus_common.logging import get_logger

from players.ids import PLAYER_ID_PATTERN
from players.stats_store import Game, StatsStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["InvalidRecordEvent", "RecordEvent", "handler", "process_batch", "stats_store"]

logger = get_logger("players")

_Id = Annotated[str, Field(pattern=PLAYER_ID_PATTERN, description="1-128 of A-Z a-z 0-9 . _ : @ -")]


class RecordEvent(BaseModel):
    """The body of a ``record-events`` message: one new game record. The records service's side of the contract."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    record_id: _Id
    player_id: _Id = Field(description="The account's sub: the player's id")
    text_id: str = Field(min_length=1, max_length=128)
    difficulty: str = Field(min_length=1, max_length=32, description="e.g. easy, medium, hard")
    wpm: Decimal = Field(ge=0, le=10_000, allow_inf_nan=False, description="Words per minute")
    accuracy: Decimal = Field(ge=0, le=100, allow_inf_nan=False, description="Percent")
    duration_seconds: Decimal = Field(ge=0, allow_inf_nan=False)
    created_at: AwareDatetime = Field(description="When the game was played: ISO 8601 with a time zone")

    def game(self) -> Game:
        """The game, as the stats count it."""
        return Game(
            player_id=self.player_id,
            record_id=self.record_id,
            wpm=self.wpm,
            accuracy=self.accuracy,
            played_at=self.created_at,
        )


class InvalidRecordEvent(ValueError):
    """A message on ``record-events`` that is not a record event; retrying cannot fix it."""


def parse_record_event(body: str | None) -> RecordEvent:
    """The record event in a message body; :class:`InvalidRecordEvent` if it is not one."""
    try:
        return RecordEvent.model_validate_json(body or "")
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "body" for error in exc.errors()})
        raise InvalidRecordEvent(f"not a record event: {', '.join(fields)}") from None


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
