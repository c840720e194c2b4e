"""Create the records table, its indexes and the record-events outbox.

Revision ID: 0001
Revises:
Create Date: 2026-03-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("record_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("player_id", sa.Text(), nullable=False),
        sa.Column("text_id", sa.Text(), nullable=False),
        sa.Column("difficulty", sa.Text(), nullable=False),
        sa.Column("wpm", sa.Numeric(6, 2), nullable=False),
        sa.Column("accuracy", sa.Numeric(5, 2), nullable=False),
        sa.Column("duration_seconds", sa.Numeric(8, 3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("wpm > 0 AND wpm <= 300", name="records_wpm_check"),
        sa.CheckConstraint("accuracy >= 0 AND accuracy <= 100", name="records_accuracy_check"),
        sa.CheckConstraint("duration_seconds > 0 AND duration_seconds <= 3600", name="records_duration_seconds_check"),
        sa.CheckConstraint("difficulty IN ('easy', 'medium', 'hard')", name="records_difficulty_check"),
        sa.PrimaryKeyConstraint("record_id", name="records_pkey"),
    )
    op.create_index(
        "records_leaderboard_idx",
        "records",
        ["difficulty", sa.text("wpm DESC"), sa.text("accuracy DESC"), "created_at", "record_id"],
        postgresql_include=["player_id"],
    )
    op.create_index(
        "records_player_best_idx",
        "records",
        ["difficulty", "player_id", sa.text("wpm DESC"), sa.text("accuracy DESC"), "created_at", "record_id"],
    )
    op.create_index(
        "records_player_history_idx", "records", ["player_id", sa.text("created_at DESC"), sa.text("record_id DESC")]
    )
    op.create_index(
        "records_period_idx",
        "records",
        ["difficulty", "created_at"],
        postgresql_include=["player_id", "wpm", "accuracy", "record_id"],
    )
    op.create_table(
        "record_outbox",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.record_id"], name="record_outbox_record_id_fkey", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", name="record_outbox_pkey"),
    )
    op.create_index(
        "record_outbox_unsent_idx", "record_outbox", ["created_at"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_index(
        "record_outbox_sent_idx", "record_outbox", ["sent_at"], postgresql_where=sa.text("sent_at IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_table("record_outbox")
    op.drop_table("records")
