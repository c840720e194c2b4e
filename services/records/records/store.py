"""The records' queries, on a connection the caller holds (see :func:`records.db.transaction`).

- :func:`create_record`: the record and its outbox row (the ``record-events`` message to send), in the caller's
  transaction: both are written or neither;
- :func:`get_record`: one record by id;
- :func:`player_history`: a player's records, newest first, after a keyset position (``records_player_history_idx``).

The leaderboard has a module of its own: :mod:`records.leaderboard`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, tuple_

from records.models import record_outbox, records

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row

__all__ = ["NewRecord", "StoredRecord", "create_record", "get_record", "player_history"]


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record to store: the values already rounded to the columns' precision, the difficulty from the text."""

    player_id: str
    text_id: str
    difficulty: str
    wpm: Decimal
    accuracy: Decimal
    duration_seconds: Decimal


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A row of ``records``."""

    record_id: uuid.UUID
    player_id: str
    text_id: str
    difficulty: str
    wpm: Decimal
    accuracy: Decimal
    duration_seconds: Decimal
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """The record's fields, as :class:`records.schemas.Record` takes them."""
        return {
            "record_id": self.record_id,
            "player_id": self.player_id,
            "text_id": self.text_id,
            "difficulty": self.difficulty,
            "wpm": float(self.wpm),
            "accuracy": float(self.accuracy),
            "duration_seconds": float(self.duration_seconds),
            "created_at": self.created_at,
        }

    def event(self) -> dict[str, Any]:
        """The ``record-events`` message body (the contract with the players service): numbers as JSON numbers,
        ``created_at`` as ISO 8601 in UTC."""
        return {
            "record_id": str(self.record_id),
            "player_id": self.player_id,
            "text_id": self.text_id,
            "difficulty": self.difficulty,
            "wpm": float(self.wpm),
            "accuracy": float(self.accuracy),
            "duration_seconds": float(self.duration_seconds),
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


def _stored(row: Row[Any]) -> StoredRecord:
    return StoredRecord(
        record_id=row.record_id,
        player_id=row.player_id,
        text_id=row.text_id,
        difficulty=row.difficulty,
        wpm=row.wpm,
        accuracy=row.accuracy,
        duration_seconds=row.duration_seconds,
        created_at=row.created_at,
    )


def create_record(connection: Connection, new: NewRecord) -> StoredRecord:
    """Insert the record and its outbox row (on the caller's transaction); return the record as stored."""
    row = connection.execute(
        insert(records)
        .values(
            record_id=uuid.uuid4(),
            player_id=new.player_id,
            text_id=new.text_id,
            difficulty=new.difficulty,
            wpm=new.wpm,
            accuracy=new.accuracy,
            duration_seconds=new.duration_seconds,
        )
        .returning(*records.c)
    ).one()
    stored = _stored(row)
    connection.execute(insert(record_outbox).values(record_id=stored.record_id, payload=stored.event()))
    return stored


def get_record(connection: Connection, record_id: uuid.UUID) -> StoredRecord | None:
    """The record *record_id*, or ``None``."""
    row = connection.execute(select(records).where(records.c.record_id == record_id)).one_or_none()
    return None if row is None else _stored(row)


def player_history(
    connection: Connection, player_id: str, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> tuple[list[StoredRecord], bool]:
    """Up to *limit* of *player_id*'s records, newest first, after position *after* (``(created_at, record_id)``);
    and whether more follow."""
    query = select(records).where(records.c.player_id == player_id)
    if after is not None:
        query = query.where(tuple_(records.c.created_at, records.c.record_id) < tuple_(*after))
    query = query.order_by(records.c.created_at.desc(), records.c.record_id.desc()).limit(limit + 1)
    rows = [_stored(row) for row in connection.execute(query)]
    return rows[:limit], len(rows) > limit
