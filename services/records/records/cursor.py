"""The cursor of a player's history: where the last page ended, ``(created_at, record_id)``, for the next query.

A cursor is a :class:`stratus_common.cursors.CursorCodec` cursor of the key ``{"p": player_id, "t": created_at,
"r": record_id}``, signed with the ``cursor-signing`` secret (``CURSOR_SIGNING_SECRET_ARN``, read on first use): the
client cannot make or change one. A cursor that was edited, made for another list or another player's records, or
longer than :data:`MAX_CURSOR_LENGTH` is a 422 naming ``query.cursor``
(:class:`~stratus_common.cursors.InvalidCursor`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from stratus_common.cursors import MAX_CURSOR_LENGTH, CursorCodec, InvalidCursor
from stratus_common.secrets import get_secret

__all__ = ["CODEC", "MAX_CURSOR_LENGTH", "Position", "decode", "encode"]

CODEC = CursorCodec("records-history", lambda: get_secret("cursor-signing"))
"""The codec of the history's cursors; its key is read from Secrets Manager when first needed, not at import."""
_KEY = ("p", "t", "r")

Position = tuple[datetime, UUID]
"""``(created_at, record_id)`` of the last record of a page."""


def encode(player_id: str, position: Position) -> str:
    """The cursor that resumes *player_id*'s history after *position*."""
    created_at, record_id = position
    cursor = CODEC.encode({"p": player_id, "t": created_at.isoformat(), "r": str(record_id)})
    assert cursor is not None  # a key with attributes always has a cursor
    return cursor


def decode(cursor: str | None, player_id: str) -> Position | None:
    """The position a cursor made by :func:`encode` for *player_id* holds; ``None`` for no cursor.

    Raises :class:`~stratus_common.cursors.InvalidCursor` (422, ``query.cursor``) for anything else.
    """
    key = CODEC.decode(cursor, attributes=_KEY)
    if key is None:
        return None
    if key["p"] != player_id:
        raise InvalidCursor("made for another player's records")
    try:
        when, record_id = datetime.fromisoformat(key["t"]), UUID(key["r"])
    except (TypeError, ValueError):  # signed by this service, so never; unless the secret leaked
        raise InvalidCursor("not a cursor of this list") from None
    if when.tzinfo is None:
        raise InvalidCursor("not a cursor of this list")
    return when, record_id
