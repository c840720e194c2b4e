"""The players API's request and response bodies, and the rules a player's fields follow.

- ``display_name``: 1 to :data:`MAX_DISPLAY_NAME` characters once NFC-normalised and stripped; no control characters
  (``NUL``, newlines, C1 controls), lone surrogates, line/paragraph separators or bidirectional overrides and isolates
  (which make a name read differently from what it is); at least one visible character;
- ``country``: an ISO 3166-1 alpha-2 code, two letters ``A``-``Z`` (``null``/absent: none);
- ``preferred_difficulty``: ``easy``, ``medium`` (default) or ``hard``;
- ``player_id`` (a path parameter, and the account's ``sub``): :data:`PLAYER_ID_PATTERN`.

Every error answer has the one shape of :class:`stratus_common.errors.ErrorResponse`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from players.ids import PLAYER_ID_PATTERN

__all__ = [
    "COUNTRY_PATTERN",
    "MAX_DISPLAY_NAME",
    "MAX_VERSION",
    "PLAYER_ID_PATTERN",
    "Difficulty",
    "DisplayName",
    "Player",
    "PlayerCreate",
    "PlayerPage",
    "PlayerStats",
    "PlayerUpdate",
    "is_player_id",
    "normalise_display_name",
]

MAX_DISPLAY_NAME = 40
COUNTRY_PATTERN = r"^[A-Z]{2}$"
MAX_VERSION = 2**53 - 1
"""The largest version a client may send (JSON's largest exact integer); a profile never gets near it."""

_RESERVED_IDS = frozenset({"health", "liveness", "readiness", "docs", "redoc", "openapi.json"})
"""Paths of the app's own, which ``GET /players/{player_id}`` could never reach."""

Difficulty = Literal["easy", "medium", "hard"]

# Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they reorder what follows.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Controls (Cc), surrogates (Cs: not text, and DynamoDB cannot store them), line and paragraph separators (Zl, Zp).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Categories with nothing to see: a name made only of these would render as blank.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Cf", "Mn", "Me"})


def normalise_display_name(value: str) -> str:
    """Return *value* NFC-normalised and stripped; raise ``ValueError`` if it is not an acceptable display name."""
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
        if char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain bidirectional override characters (found U+{ord(char):04X})")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise ValueError("must not be blank")
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"must be at most {MAX_DISPLAY_NAME} characters")
    if all(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in name):
        raise ValueError("must contain a visible character")
    return name


def is_player_id(value: str) -> bool:
    """Whether *value* can be a player id: it has the shape, and is not a path the app serves itself."""
    return re.fullmatch(PLAYER_ID_PATTERN, value) is not None and value not in _RESERVED_IDS


# The length is checked after normalising; the bound here only stops absurd input before the per-character scan.
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=4 * MAX_DISPLAY_NAME, description="1-40 characters, no control characters"),
    AfterValidator(normalise_display_name),
]
Country = Annotated[
    str | None,
    Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2 code, e.g. DE", examples=["DE"]),
]


class PlayerCreate(BaseModel):
    """The body of ``POST /players``: the signed-in account's profile."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName
    country: Country = None
    preferred_difficulty: Difficulty = "medium"


class PlayerUpdate(PlayerCreate):
    """The body of ``PUT /players/{player_id}``: the whole profile, and the version it replaces."""

    version: int = Field(ge=1, le=MAX_VERSION, description="The version the client last read (its ETag)")


class Player(BaseModel):
    """A player's profile, as the API shows it."""

    player_id: str
    display_name: str
    country: str | None
    preferred_difficulty: Difficulty
    version: int = Field(description="Starts at 1; every update adds 1")
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str = Field(description="ISO 8601, UTC")


class PlayerPage(BaseModel):
    """One page of ``GET /players``."""

    items: list[Player]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class PlayerStats(BaseModel):
    """A player's totals over their game records."""

    player_id: str
    games_played: int
    best_wpm: float
    average_wpm: float = Field(description="Rounded to one decimal")
    average_accuracy: float = Field(description="Percent, rounded to one decimal")
    last_played_at: str | None = Field(description="ISO 8601, UTC; null before the first game")
