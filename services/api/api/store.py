"""The users and their e-mails in DynamoDB: every read and write the API makes.

Two tables (``[tables.users]`` and ``[tables.user-emails]`` in stratus.toml)::

    users          user_id (hash, S)   name S, email S, version N, created_at S, updated_at S
                   GSI "by-email": hash email (S), projection ALL: the ?email= lookup
    user-emails    email (hash, S)     user_id S: one item per address in use, the uniqueness guard

The users table has a hash key only: every read is by ``user_id`` alone, and a range key (``created_at``, as
in the source documents) would make ``GetItem`` by ``user_id`` impossible without knowing the creation time.

E-mail uniqueness cannot be a condition on the users table (a condition sees one item, and a GSI is neither
unique nor strongly consistent), so each address in use has an item in ``user-emails`` keyed by the address.
Every write that adds, changes or removes a user's address writes both tables in ONE ``TransactWriteItems``:
the user and the guard item change together or not at all, and two creates with the same address cannot both
pass ``attribute_not_exists(email)``.

Each user has a ``version`` (1 at creation, +1 per change); updates and deletes are conditional on the version
the client read (optimistic concurrency).

The client is passed in (``UserStore(dynamodb_client, users_table, emails_table)``), so the app and the tests
use the same code with whatever client they have. No botocore import here: errors are told apart by their code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stratus_common.dynamo import TransactionContention, condition_failed, transact_write
from stratus_common.times import Clock, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = [
    "EMAIL_INDEX",
    "EmailTaken",
    "Page",
    "StoreBusy",
    "StoredUser",
    "UserExists",
    "UserNotFound",
    "UserStore",
    "VersionConflict",
]

EMAIL_INDEX = "by-email"
"""The users table's global secondary index on ``email``."""

_READINESS_KEY = "__readiness__"


class UserExists(Exception):
    """A user with this id is already stored."""


class EmailTaken(Exception):
    """Another user has this e-mail address."""


class UserNotFound(Exception):
    """No user has this id."""


class VersionConflict(Exception):
    """The user changed since the version the client read."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the current version is {current}")
        self.current = current


StoreBusy = TransactionContention
"""Concurrent transactions on the same items kept cancelling this one: the client may retry (a 503)."""


@dataclass(frozen=True)
class StoredUser:
    """A user as stored."""

    user_id: str
    name: str
    email: str
    version: int
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredUser:
        """Build a user from a DynamoDB item (low-level attribute values)."""
        return cls(
            user_id=item["user_id"]["S"],
            name=item["name"]["S"],
            email=item["email"]["S"],
            version=int(item["version"]["N"]),
            created_at=item["created_at"]["S"],
            updated_at=item["updated_at"]["S"],
        )

    def item(self) -> dict[str, Any]:
        """The DynamoDB item of the user."""
        return {
            "user_id": {"S": self.user_id},
            "name": {"S": self.name},
            "email": {"S": self.email},
            "version": {"N": str(self.version)},
            "created_at": {"S": self.created_at},
            "updated_at": {"S": self.updated_at},
        }


@dataclass(frozen=True)
class Page:
    """One page of a scan: the users, and the key to resume after (``None`` on the last page)."""

    users: list[StoredUser]
    last_key: dict[str, Any] | None


class UserStore:
    """The users table and its e-mail guard table."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        users_table: str,
        emails_table: str,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.users_table = users_table
        self.emails_table = emails_table
        self.clock = clock
        self.sleep = sleep

    # -- reads ---------------------------------------------------------------------------------------------------

    def get(self, user_id: str) -> StoredUser | None:
        """Return the user (a strongly consistent read), or ``None``."""
        response = self.dynamodb.get_item(
            TableName=self.users_table, Key={"user_id": {"S": user_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return StoredUser.from_item(item) if item else None

    def scan(self, limit: int, start_key: dict[str, Any] | None = None) -> Page:
        """Return up to *limit* users, in no particular order, resuming after *start_key*.

        DynamoDB may return a last key on a page that happens to end the table: the next page is then empty.
        """
        kwargs: dict[str, Any] = {"TableName": self.users_table, "Limit": limit}
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self.dynamodb.scan(**kwargs)
        users = [StoredUser.from_item(item) for item in response.get("Items", [])]
        return Page(users, response.get("LastEvaluatedKey") or None)

    def find_by_email(self, email: str) -> list[StoredUser]:
        """Return the users with this (normalised) address, from the ``by-email`` index: eventually consistent.

        Normally none or one; for a moment after an address moves from one user to another, the index may
        still show the old owner (or both).
        """
        users: list[StoredUser] = []
        kwargs: dict[str, Any] = {
            "TableName": self.users_table,
            "IndexName": EMAIL_INDEX,
            "KeyConditionExpression": "email = :email",
            "ExpressionAttributeValues": {":email": {"S": email}},
        }
        while True:
            response = self.dynamodb.query(**kwargs)
            users.extend(StoredUser.from_item(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return users
            kwargs["ExclusiveStartKey"] = last_key

    def ping(self) -> None:
        """Make one cheap read of each table (keys that never exist); raise if one does not answer."""
        self.dynamodb.get_item(TableName=self.users_table, Key={"user_id": {"S": _READINESS_KEY}})
        self.dynamodb.get_item(TableName=self.emails_table, Key={"email": {"S": _READINESS_KEY}})

    # -- writes --------------------------------------------------------------------------------------------------

    def create(self, name: str, email: str, *, user_id: str | None = None) -> StoredUser:
        """Store a new user (version 1) and claim its address, in one transaction.

        Raises :class:`UserExists` if the id is taken (checked first), :class:`EmailTaken` if the address is.
        """
        now = iso(self.clock())
        user = StoredUser(
            user_id=user_id or str(uuid.uuid4()),
            name=name,
            email=email,
            version=1,
            created_at=now,
            updated_at=now,
        )
        reasons = self._transact(
            [
                {
                    "Put": {
                        "TableName": self.users_table,
                        "Item": user.item(),
                        "ConditionExpression": "attribute_not_exists(user_id)",
                    }
                },
                self._claim(email, user.user_id),
            ]
        )
        if reasons is not None:
            if condition_failed(reasons, 0):
                raise UserExists(user.user_id)
            if condition_failed(reasons, 1):
                raise EmailTaken(email)
            raise _unexpected(reasons)
        return user

    def update(self, user_id: str, name: str, email: str, *, version: int) -> StoredUser:
        """Replace the user's name and address if its version is still *version*; return the new state.

        A new address is claimed and the old one released in the same transaction as the user's update.
        Raises :class:`UserNotFound`, :class:`VersionConflict` or :class:`EmailTaken`.
        """
        current = self._current(user_id, version)
        updated = StoredUser(
            user_id=user_id,
            name=name,
            email=email,
            version=version + 1,
            created_at=current.created_at,
            updated_at=iso(self.clock()),
        )
        update: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self.users_table,
                "Key": {"user_id": {"S": user_id}},
                "UpdateExpression": "SET #name = :name, email = :email, version = :next, updated_at = :now",
                "ConditionExpression": "version = :version",
                "ExpressionAttributeNames": {"#name": "name"},
                "ExpressionAttributeValues": {
                    ":name": {"S": name},
                    ":email": {"S": email},
                    ":next": {"N": str(updated.version)},
                    ":now": {"S": updated.updated_at},
                    ":version": {"N": str(version)},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        items = [update]
        if email != current.email:
            items += [self._release(current.email, user_id), self._claim(email, user_id)]
        reasons = self._transact(items)
        if reasons is not None:
            self._raise_for_user(reasons, user_id)
            if email != current.email and condition_failed(reasons, 2):
                raise EmailTaken(email)
            raise _unexpected(reasons)
        return updated

    def delete(self, user_id: str, *, version: int) -> None:
        """Delete the user if its version is still *version*, and release its address, in one transaction.

        Raises :class:`UserNotFound` or :class:`VersionConflict`.
        """
        current = self._current(user_id, version)
        reasons = self._transact(
            [
                {
                    "Delete": {
                        "TableName": self.users_table,
                        "Key": {"user_id": {"S": user_id}},
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeValues": {":version": {"N": str(version)}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                self._release(current.email, user_id),
            ]
        )
        if reasons is not None:
            self._raise_for_user(reasons, user_id)
            raise _unexpected(reasons)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _current(self, user_id: str, version: int) -> StoredUser:
        """The stored user, if it is at *version* (its address is needed to release it)."""
        current = self.get(user_id)
        if current is None:
            raise UserNotFound(user_id)
        if current.version != version:
            raise VersionConflict(current.version)
        return current

    def _claim(self, email: str, user_id: str) -> TransactWriteItemTypeDef:
        """The transaction item that claims *email* for *user_id*: fails if anyone holds it."""
        return {
            "Put": {
                "TableName": self.emails_table,
                "Item": {"email": {"S": email}, "user_id": {"S": user_id}},
                "ConditionExpression": "attribute_not_exists(email)",
            }
        }

    def _release(self, email: str, user_id: str) -> TransactWriteItemTypeDef:
        """The transaction item that releases *email*, only if *user_id* holds it (a missing item is no harm)."""
        return {
            "Delete": {
                "TableName": self.emails_table,
                "Key": {"email": {"S": email}},
                "ConditionExpression": "attribute_not_exists(email) OR user_id = :user_id",
                "ExpressionAttributeValues": {":user_id": {"S": user_id}},
            }
        }

    @staticmethod
    def _raise_for_user(reasons: Sequence[dict[str, Any]], user_id: str) -> None:
        """Raise what the failed condition of the user item (the first of the transaction) means, if it failed."""
        if not condition_failed(reasons, 0):
            return
        old = reasons[0].get("Item")
        if not old:
            raise UserNotFound(user_id)  # deleted since it was read
        raise VersionConflict(int(old["version"]["N"]))

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> list[dict[str, Any]] | None:
        """Run a transaction: ``None`` if it applied, else its cancellation reasons (one per item).

        A transaction cancelled only because another transaction was writing the same items (or throttling)
        is tried again, a few times with jittered backoff; then :class:`StoreBusy`.
        """
        return transact_write(self.dynamodb, items, sleep=self.sleep)


def _unexpected(reasons: Sequence[dict[str, Any]]) -> RuntimeError:
    codes = [reason.get("Code", "None") for reason in reasons]
    return RuntimeError(f"transaction cancelled for an unexpected reason: {codes}")
