"""What a new record refers to, read from DynamoDB: the player's profile and the text (with its difficulty).

One ``BatchGetItem`` reads both (``PLAYERS_TABLE_NAME``, key ``player_id``; ``TEXTS_TABLE_NAME``, key ``text_id``),
strongly consistent, so a profile created a moment ago is found. Keys DynamoDB leaves unprocessed are asked for
again, a few times. A failure of DynamoDB is :class:`LookupUnavailable` (the app answers 503).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stratus_common.aws_errors import error_code, is_aws_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["LookupUnavailable", "References", "lookup"]

_ATTEMPTS = 4


class LookupUnavailable(Exception):
    """DynamoDB could not answer; *reason* is short (an AWS error code or the exception's type)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class References:
    """What was found: whether the player has a profile, and the text's difficulty (``None``: no such text)."""

    player_exists: bool
    text_exists: bool
    text_difficulty: str | None


def _request(players_table: str, texts_table: str, player_id: str, text_id: str) -> dict[str, dict[str, Any]]:
    return {
        players_table: {
            "Keys": [{"player_id": {"S": player_id}}],
            "ProjectionExpression": "#k",
            "ExpressionAttributeNames": {"#k": "player_id"},
            "ConsistentRead": True,
        },
        texts_table: {
            "Keys": [{"text_id": {"S": text_id}}],
            "ProjectionExpression": "#k, #d",
            "ExpressionAttributeNames": {"#k": "text_id", "#d": "difficulty"},
            "ConsistentRead": True,
        },
    }


def lookup(
    dynamodb: DynamoDBClient, *, players_table: str, texts_table: str, player_id: str, text_id: str
) -> References:
    """Read the player's profile and the text; raises :class:`LookupUnavailable` when DynamoDB cannot answer."""
    found: dict[str, list[dict[str, Any]]] = {players_table: [], texts_table: []}
    pending: dict[str, Any] = _request(players_table, texts_table, player_id, text_id)
    try:
        for attempt in range(_ATTEMPTS):
            response = dynamodb.batch_get_item(RequestItems=pending)
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            pending = dict(response.get("UnprocessedKeys") or {})
            if not pending:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise LookupUnavailable("DynamoDB left keys unprocessed (throttled)")
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        raise LookupUnavailable(error_code(exc) or type(exc).__name__) from exc
    texts = found[texts_table]
    difficulty = texts[0].get("difficulty", {}).get("S") if texts else None
    return References(player_exists=bool(found[players_table]), text_exists=bool(texts), text_difficulty=difficulty)
