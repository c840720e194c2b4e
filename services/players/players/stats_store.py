"""The ``player-stats`` table: each player's totals, and the records already counted in them.

The table's keys are ``player_id`` (hash) and ``entry`` (range); it holds two kinds of item::

    entry "stats"              the totals: games_played N, total_wpm N, best_wpm N, total_accuracy N,
                               last_played_at S (ISO 8601, UTC), version N (+1 on every game), updated_at S
    entry "record#<record_id>" a marker: this record is counted; expires_at N (epoch seconds, the table's TTL
                               attribute) = applied + 30 days, long after SQS could deliver the message again

:meth:`StatsStore.apply` counts a game exactly once in effect, however often (and however concurrently) its message
is delivered: it writes the marker and the new totals in ONE ``TransactWriteItems``:

- ``Put`` the marker, on ``attribute_not_exists(entry)``;
- ``Put`` the totals computed from the ones it read, on ``version = <the version read>`` (or
  ``attribute_not_exists(entry)`` for a first game): optimistic concurrency.

Either both are written or neither. When DynamoDB cancels the transaction, the reasons (in the order of the items)
say why: the marker's condition failed -> the record was counted already, nothing to do; the totals' condition
failed (another game of the player was counted since the read) -> read again and retry, a bounded number of times
with a small random wait. A transaction cancelled by a concurrent one (``TransactionConflict``) is run again as it
is (:func:`stratus_common.dynamo.transact_write`).

Numbers are :class:`~decimal.Decimal` (DynamoDB numbers are exact; floats are not accepted); wpm and accuracy
are counted to two decimals, so the totals stay far inside DynamoDB's 38 significant digits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, cast

from stratus_common.dynamo import TransactionContention, condition_failed, transact_write
from stratus_common.times import Clock, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = ["MARKER_TTL", "MAX_ATTEMPTS", "STATS_ENTRY", "Game", "Stats", "StatsContention", "StatsStore"]

STATS_ENTRY = "stats"
MARKER_PREFIX = "record#"
MARKER_TTL = timedelta(days=30)
"""How long a marker outlives its message: SQS keeps a message at most 14 days."""
MAX_ATTEMPTS = 10
_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")
_ZERO = Decimal(0)


class StatsContention(RuntimeError):
    """The totals changed under every attempt to count a game; the message should be delivered again later."""


@dataclass(frozen=True)
class Game:
    """One game record, as far as the stats care."""

    player_id: str
    record_id: str
    wpm: Decimal
    accuracy: Decimal
    played_at: datetime


@dataclass(frozen=True)
class Stats:
    """A player's totals, as stored (all zero, version 0, before the first game)."""

    games_played: int = 0
    total_wpm: Decimal = _ZERO
    best_wpm: Decimal = _ZERO
    total_accuracy: Decimal = _ZERO
    last_played_at: str | None = None
    version: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Stats:
        """Build the totals from the DynamoDB item (low-level attribute values)."""

        def number(name: str) -> Decimal:
            return Decimal(item.get(name, {}).get("N", "0"))

        last = item.get("last_played_at", {}).get("S")
        return cls(
            games_played=int(number("games_played")),
            total_wpm=number("total_wpm"),
            best_wpm=number("best_wpm"),
            total_accuracy=number("total_accuracy"),
            last_played_at=last,
            version=int(number("version")),
        )

    def plus(self, game: Game) -> Stats:
        """The totals once *game* is counted too."""
        wpm = game.wpm.quantize(_CENT, ROUND_HALF_EVEN)
        played_at = iso(game.played_at)
        return Stats(
            games_played=self.games_played + 1,
            total_wpm=self.total_wpm + wpm,
            best_wpm=max(self.best_wpm, wpm),
            total_accuracy=self.total_accuracy + game.accuracy.quantize(_CENT, ROUND_HALF_EVEN),
            last_played_at=max(self.last_played_at, played_at) if self.last_played_at else played_at,
            version=self.version + 1,
        )

    def public(self, player_id: str) -> dict[str, Any]:
        """The totals as the API shows them: averages rounded to one decimal, zeros before the first game."""

        def average(total: Decimal) -> float:
            if not self.games_played:
                return 0.0
            return float((total / self.games_played).quantize(_TENTH, ROUND_HALF_UP))

        return {
            "player_id": player_id,
            "games_played": self.games_played,
            "best_wpm": float(self.best_wpm),
            "average_wpm": average(self.total_wpm),
            "average_accuracy": average(self.total_accuracy),
            "last_played_at": self.last_played_at,
        }


class StatsStore:
    """The player-stats table."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max_attempts

    def get(self, player_id: str) -> Stats:
        """The player's totals (zeros before the first game)."""
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={"player_id": {"S": player_id}, "entry": {"S": STATS_ENTRY}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Stats.from_item(item) if item else Stats()

    def apply(self, game: Game) -> bool:
        """Count *game* in its player's totals; return ``False`` if it was counted already (a duplicate).

        Raises :class:`StatsContention` when the totals kept changing for :attr:`max_attempts` attempts, and the
        client's errors (throttling, ...) as they are: the message is then delivered again.
        """
        for attempt in range(self.max_attempts):
            current = self.get(game.player_id)
            try:
                reasons = transact_write(self.dynamodb, self._transaction(game, current), sleep=self.sleep)
            except TransactionContention as exc:
                raise StatsContention(
                    f"concurrent transactions kept cancelling the game of {game.player_id!r}"
                ) from exc
            if reasons is None:
                return True
            if condition_failed(reasons, 0):
                return False  # the marker is there: this record is counted already
            if not condition_failed(reasons, 1):
                raise RuntimeError(f"transaction cancelled for an unexpected reason: {reasons}")
            self.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 5)))  # the totals changed since the read
        raise StatsContention(f"the stats of player {game.player_id!r} changed under {self.max_attempts} attempts")

    def _transaction(self, game: Game, current: Stats) -> list[TransactWriteItemTypeDef]:
        """The two puts that count *game* over the totals *current* read: the marker, then the new totals."""
        now = self.clock()
        updated = current.plus(game)
        marker = {
            "player_id": {"S": game.player_id},
            "entry": {"S": MARKER_PREFIX + game.record_id},
            "applied_at": {"S": iso(now)},
            "expires_at": {"N": str(int((now + MARKER_TTL).timestamp()))},
        }
        stats: dict[str, Any] = {
            "player_id": {"S": game.player_id},
            "entry": {"S": STATS_ENTRY},
            "games_played": {"N": str(updated.games_played)},
            "total_wpm": {"N": str(updated.total_wpm)},
            "best_wpm": {"N": str(updated.best_wpm)},
            "total_accuracy": {"N": str(updated.total_accuracy)},
            "last_played_at": {"S": updated.last_played_at or ""},
            "version": {"N": str(updated.version)},
            "updated_at": {"S": iso(now)},
        }
        first_time = "attribute_not_exists(entry)"
        if current.version:
            guard: dict[str, Any] = {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(current.version)}},
            }
        else:
            guard = {"ConditionExpression": first_time}
        items = [
            {"Put": {"TableName": self.table_name, "Item": marker, "ConditionExpression": first_time}},
            {"Put": {"TableName": self.table_name, "Item": stats, **guard}},
        ]
        return cast("list[TransactWriteItemTypeDef]", items)
