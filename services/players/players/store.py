"""The ``players`` table: one profile per account, written under optimistic concurrency.

The client is passed in (``PlayerStore(dynamodb_client, table)``), so the app and the tests use the same code
with whatever client they have. The table's hash key is ``player_id`` (the account's ``sub``); an item::

    player_id             S   the account's sub
    display_name          S
    country               S   ISO 3166-1 alpha-2 (absent: none)
    preferred_difficulty  S   easy | medium | hard
    version               N   1 on creation, +1 on every update
    created_at            S   ISO 8601, UTC
    updated_at            S   ISO 8601, UTC

Every write is conditional: creation on ``attribute_not_exists(player_id)`` (:class:`PlayerExists`), update and
delete on ``version = :expected`` (:class:`VersionConflict`, carrying the current version; :class:`PlayerNotFound`
when the item is gone). A stale client is refused, never silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stratus_common.dynamo import is_conditional_check_failed
from stratus_common.times import Clock, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "PlayerExists",
    "PlayerNotFound",
    "PlayerProfile",
    "PlayerRecord",
    "PlayerStore",
    "VersionConflict",
]

_READINESS_KEY = "__readiness__"


class PlayerExists(Exception):
    """The account has a profile already."""


class PlayerNotFound(Exception):
    """No profile with this id."""


class VersionConflict(Exception):
    """The profile's version is not the one the client sent: someone changed it since the client read it."""

    def __init__(self, player_id: str, expected: int, current: int) -> None:
        super().__init__(f"player {player_id!r} is at version {current}, not {expected}")
        self.expected = expected
        self.current = current


@dataclass(frozen=True)
class PlayerProfile:
    """What the player chooses: the writable fields."""

    display_name: str
    country: str | None
    preferred_difficulty: str


@dataclass(frozen=True)
class PlayerRecord:
    """A profile as stored."""

    player_id: str
    display_name: str
    country: str | None
    preferred_difficulty: str
    version: int
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PlayerRecord:
        """Build a record from a DynamoDB item (low-level attribute values)."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return value["S"] if value and "S" in value else None

        return cls(
            player_id=text("player_id") or "",
            display_name=text("display_name") or "",
            country=text("country"),
            preferred_difficulty=text("preferred_difficulty") or "medium",
            version=int(item.get("version", {}).get("N", "1")),
            created_at=text("created_at") or "",
            updated_at=text("updated_at") or "",
        )

    def public(self) -> dict[str, Any]:
        """The profile as the API shows it."""
        return {
            "player_id": self.player_id,
            "display_name": self.display_name,
            "country": self.country,
            "preferred_difficulty": self.preferred_difficulty,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class PlayerStore:
    """The players table."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, *, clock: Clock = utc_now) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    def create(self, player_id: str, profile: PlayerProfile) -> PlayerRecord:
        """Store the first version of *player_id*'s profile; :class:`PlayerExists` if there is one."""
        now = iso(self.clock())
        record = PlayerRecord(
            player_id=player_id,
            display_name=profile.display_name,
            country=profile.country,
            preferred_difficulty=profile.preferred_difficulty,
            version=1,
            created_at=now,
            updated_at=now,
        )
        item: dict[str, Any] = {
            "player_id": {"S": player_id},
            "display_name": {"S": profile.display_name},
            "preferred_difficulty": {"S": profile.preferred_difficulty},
            "version": {"N": "1"},
            "created_at": {"S": now},
            "updated_at": {"S": now},
        }
        if profile.country is not None:
            item["country"] = {"S": profile.country}
        try:
            self.dynamodb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(player_id)"
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                raise PlayerExists(player_id) from exc
            raise
        return record

    def get(self, player_id: str) -> PlayerRecord | None:
        """Return the profile, or ``None`` if there is none with this id."""
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"player_id": {"S": player_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return PlayerRecord.from_item(item) if item else None

    def page(self, *, limit: int, start: dict[str, Any] | None = None) -> tuple[list[PlayerRecord], dict[str, Any]]:
        """Return up to *limit* profiles after the key *start*, and the ``LastEvaluatedKey`` (``{}`` at the end)."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Limit": limit}
        if start:
            arguments["ExclusiveStartKey"] = start
        response = self.dynamodb.scan(**arguments)
        records = [PlayerRecord.from_item(item) for item in response.get("Items", [])]
        return records, dict(response.get("LastEvaluatedKey") or {})

    def update(self, player_id: str, profile: PlayerProfile, *, expected_version: int) -> PlayerRecord:
        """Replace the profile if it is at *expected_version*; return the new one, at the next version.

        Raises :class:`VersionConflict` when it is at another version, :class:`PlayerNotFound` when it is gone.
        """
        values: dict[str, Any] = {
            ":name": {"S": profile.display_name},
            ":difficulty": {"S": profile.preferred_difficulty},
            ":expected": {"N": str(expected_version)},
            ":one": {"N": "1"},
            ":now": {"S": iso(self.clock())},
        }
        assignments = [
            "display_name = :name",
            "preferred_difficulty = :difficulty",
            "version = version + :one",
            "updated_at = :now",
        ]
        if profile.country is not None:
            assignments.append("country = :country")
            values[":country"] = {"S": profile.country}
        update = "SET " + ", ".join(assignments) + (" REMOVE country" if profile.country is None else "")
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"player_id": {"S": player_id}},
                UpdateExpression=update,
                ConditionExpression="version = :expected",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                raise self._refusal(player_id, expected_version, exc) from exc
            raise
        return PlayerRecord.from_item(response["Attributes"])

    def delete(self, player_id: str, *, expected_version: int) -> None:
        """Delete the profile if it is at *expected_version*; :class:`VersionConflict` or :class:`PlayerNotFound`."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key={"player_id": {"S": player_id}},
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                raise self._refusal(player_id, expected_version, exc) from exc
            raise

    def ping(self) -> None:
        """Make one cheap read of the table (a key that never exists); raise if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"player_id": {"S": _READINESS_KEY}})

    def _refusal(self, player_id: str, expected: int, exc: Exception) -> Exception:
        """Why a conditional write of *player_id* was refused: the item it found (``ALL_OLD``), or none."""
        old = getattr(exc, "response", {}).get("Item")
        if not old:
            return PlayerNotFound(player_id)
        return VersionConflict(player_id, expected, PlayerRecord.from_item(old).version)
