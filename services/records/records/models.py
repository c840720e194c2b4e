"""The records database's tables (SQLAlchemy Core), as the Alembic migrations in ``records/migrations`` create them.

``records``: one row per finished game::

    record_id uuid PK | player_id text | text_id text | difficulty text (easy|medium|hard)
    wpm numeric(6,2) | accuracy numeric(5,2) | duration_seconds numeric(8,3) | created_at timestamptz default now()

Its indexes, each for one query of :mod:`records.store`:

- ``records_leaderboard_idx`` ``(difficulty, wpm DESC, accuracy DESC, created_at, record_id) INCLUDE (player_id)``:
  the leaderboard walks it in rank order (an index-only scan) and stops after ``limit`` players;
- ``records_player_best_idx`` ``(difficulty, player_id, wpm DESC, accuracy DESC, created_at, record_id)``: "has this
  player a better record?" is one probe of it (the anti-join that keeps only each player's best), and in this order
  ``DISTINCT ON (player_id)`` reads each player's best first without sorting;
- ``records_player_history_idx`` ``(player_id, created_at DESC, record_id DESC)``: a player's records, newest first,
  resumed after a cursor;
- ``records_period_idx`` ``(difficulty, created_at) INCLUDE (player_id, wpm, accuracy, record_id)``: a short period
  (``day``) of a large table is read by time, from the index alone.

``record_outbox``: the record events still to be sent to the ``record-events`` queue (the transactional outbox,
:mod:`records.outbox`); a row is written in the transaction of its record, and ``sent_at`` set once SQS took it.
``record_outbox_unsent_idx`` is partial (``WHERE sent_at IS NULL``): the sweep reads only what is left to send.

SQLAlchemy is imported by this module: only :mod:`records.store`, :mod:`records.outbox` and the migrations import it,
on first use, never :mod:`records.main` at import.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["DIFFICULTIES", "metadata", "record_outbox", "records"]

DIFFICULTIES = ("easy", "medium", "hard")

metadata = MetaData(
    naming_convention={
        "pk": "%(table_name)s_pkey",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
        "ck": "%(table_name)s_%(constraint_name)s_check",
        "ix": "%(table_name)s_%(column_0_name)s_idx",
    }
)

records = Table(
    "records",
    metadata,
    Column("record_id", Uuid(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("player_id", Text, nullable=False),
    Column("text_id", Text, nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("wpm", Numeric(6, 2), nullable=False),
    Column("accuracy", Numeric(5, 2), nullable=False),
    Column("duration_seconds", Numeric(8, 3), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("wpm > 0 AND wpm <= 300", name="wpm"),
    CheckConstraint("accuracy >= 0 AND accuracy <= 100", name="accuracy"),
    CheckConstraint("duration_seconds > 0 AND duration_seconds <= 3600", name="duration_seconds"),
    CheckConstraint("difficulty IN ('easy', 'medium', 'hard')", name="difficulty"),
)

Index(
    "records_leaderboard_idx",
    records.c.difficulty,
    records.c.wpm.desc(),
    records.c.accuracy.desc(),
    records.c.created_at,
    records.c.record_id,
    postgresql_include=["player_id"],
)
Index(
    "records_player_best_idx",
    records.c.difficulty,
    records.c.player_id,
    records.c.wpm.desc(),
    records.c.accuracy.desc(),
    records.c.created_at,
    records.c.record_id,
)
Index("records_player_history_idx", records.c.player_id, records.c.created_at.desc(), records.c.record_id.desc())
Index(
    "records_period_idx",
    records.c.difficulty,
    records.c.created_at,
    postgresql_include=["player_id", "wpm", "accuracy", "record_id"],
)

record_outbox = Table(
    "record_outbox",
    metadata,
    Column("record_id", Uuid(as_uuid=True), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
)

Index("record_outbox_unsent_idx", record_outbox.c.created_at, postgresql_where=record_outbox.c.sent_at.is_(None))
Index("record_outbox_sent_idx", record_outbox.c.sent_at, postgresql_where=record_outbox.c.sent_at.is_not(None))
