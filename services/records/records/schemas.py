"""The records API's request and response bodies (pydantic only: no database code here).

- ``player_id`` and ``text_id``: :data:`ID_PATTERN` (1 to 128 of ``A-Z a-z 0-9 . _ : @ -``, the players service's
  rule for an account's ``sub``);
- ``wpm``: 0.01 to 300, ``accuracy``: 0 to 100 (percent), ``duration_seconds``: 0.001 to 3600: JSON numbers
  (a string such as ``"72"`` is refused), rounded half-up to the columns' precision (2, 2 and 3 decimals).

Numbers are answered as JSON numbers, times as ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "DEFAULT_LEADERBOARD_LIMIT",
    "ID_PATTERN",
    "MAX_LIMIT",
    "Difficulty",
    "LeaderboardEntry",
    "Period",
    "Record",
    "RecordCreate",
    "RecordPage",
    "quantize",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
"""A player or text id: 1 to 128 letters, digits and ``. _ : @ -``, starting with a letter or digit."""
MAX_LIMIT = 100
DEFAULT_LEADERBOARD_LIMIT = 10
DEFAULT_HISTORY_LIMIT = 20

Difficulty = Literal["easy", "medium", "hard"]
Period = Literal["day", "week", "all"]
"""``day``: the last 24 hours; ``week``: the last 7 days; ``all``: every record."""

_Id = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN, examples=["3f0c9a52-5d1e-4f7a"])]


def quantize(value: float, places: int) -> Decimal:
    """*value* rounded half-up to *places* decimals, as the ``numeric`` columns store it."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class RecordCreate(BaseModel):
    """The body of ``POST /``: a finished game of the signed-in player."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"player_id": "3f0c9a52", "text_id": "t-42", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}
            ]
        },
    )

    player_id: _Id = Field(description="The signed-in player's id (the account's sub)")
    text_id: _Id = Field(description="The text that was typed")
    wpm: float = Field(ge=0.01, le=300, strict=True, allow_inf_nan=False, description="Words per minute")
    accuracy: float = Field(ge=0, le=100, strict=True, allow_inf_nan=False, description="Percent of correct keys")
    duration_seconds: float = Field(ge=0.001, le=3600, strict=True, allow_inf_nan=False, description="Game length")


class Record(BaseModel):
    """A game record, as stored."""

    record_id: UUID
    player_id: str
    text_id: str
    difficulty: Difficulty
    wpm: float
    accuracy: float
    duration_seconds: float
    created_at: datetime = Field(description="When the record was stored: ISO 8601, UTC")


class LeaderboardEntry(BaseModel):
    """One player's best record of the period, and its place."""

    rank: int = Field(ge=1)
    player_id: str
    wpm: float
    accuracy: float
    record_id: UUID
    created_at: datetime


class RecordPage(BaseModel):
    """One page of a player's records, newest first."""

    items: list[Record]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")
