"""Accounts in the ``accounts`` table: users (password, argon2id) and machine clients (client secret).

Items, keyed by ``account_id``::

    user#<username>       kind "user":   subject (uuid, the tokens' sub), username, password_hash (argon2id),
                                         scopes, created_at, failed_logins, failed_window_start, locked_until
    client#<client id>    kind "client": subject (= client id), client_id, secret_hash (sha256), scopes, created_at

**Failed logins** (the numbers are :data:`MAX_FAILED_LOGINS`, :data:`FAILURE_WINDOW`,
:data:`LOCKOUT_SECONDS`): 5 wrong passwords within 15 minutes lock the account for 15 minutes. While
locked, every attempt is refused, the right password included, and does not extend the lock; a
successful login clears the count. The counter is an atomic ``ADD`` in DynamoDB, so concurrent guesses
are all counted. Locked, wrong password and unknown user get the same answer (no account enumeration),
and an unknown user still costs one argon2 verification (no timing oracle). The lock lets anyone lock
a known username for 15 minutes: the usual trade-off, documented.

**Passwords**: argon2id with argon2-cffi's defaults (RFC 9106 "low memory": t=3, m=64 MiB, p=4), rehashed
at login when the parameters change; 12-128 characters, not the username.

**Client secrets** are generated (256 random bits) and stored as SHA-256, compared with
:func:`hmac.compare_digest`: a slow hash adds nothing to a random 256-bit secret.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "FAILURE_WINDOW",
    "LOCKOUT_SECONDS",
    "MAX_FAILED_LOGINS",
    "AccountExists",
    "AccountStore",
    "Client",
    "CreatedClient",
    "User",
    "validate_password",
    "validate_username",
]

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = 15 * 60
LOCKOUT_SECONDS = 15 * 60
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
SCOPE_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,64}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 128
DEFAULT_USER_SCOPES = ("profile",)
_READINESS_KEY = "__readiness_probe__"

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so that it costs as much as a real one."""
    return _hasher.hash(secrets.token_urlsafe(16))


Clock = Callable[[], float]


class AccountExists(Exception):
    """The username or client id is taken."""


def validate_username(username: str) -> str:
    """Return the canonical (lower-case) username; raise ``ValueError`` saying what is wrong."""
    canonical = username.strip().lower()
    if not USERNAME_RE.match(canonical):
        raise ValueError(
            "must be 3-32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return canonical


def validate_password(password: str, username: str | None = None) -> str:
    """Raise ``ValueError`` if *password* breaks the policy (never quoting it)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if username is not None and password.strip().lower() == username.strip().lower():
        raise ValueError("must not be the username")
    return password


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Return the scopes, deduplicated; raise ``ValueError`` on a malformed one."""
    out = tuple(dict.fromkeys(scope for scope in scopes if scope))
    for scope in out:
        if not SCOPE_RE.match(scope):
            raise ValueError("scopes are 1-64 letters, digits and : . _ / -")
    return out


@dataclass(frozen=True)
class User:
    """A user account (its hash stays in the store)."""

    subject: str
    username: str
    scopes: tuple[str, ...]
    created_at: int
    locked_until: int = 0


@dataclass(frozen=True)
class Client:
    """A machine client."""

    client_id: str
    scopes: tuple[str, ...]
    created_at: int


@dataclass(frozen=True)
class CreatedClient:
    """A new client: ``secret`` is shown once and stored only as a hash."""

    client: Client
    secret: str = field(repr=False)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


class AccountStore:
    """Users and clients in the accounts table (a low-level DynamoDB client)."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Clock = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    # ----------------------------------------------------------------------------------- users

    def create_user(self, username: str, password: str, *, scopes: Iterable[str] = DEFAULT_USER_SCOPES) -> User:
        """Register a user; raise ``ValueError`` (bad input) or :class:`AccountExists`."""
        username = validate_username(username)
        validate_password(password, username)
        granted = validate_scopes(scopes)
        user = User(subject=str(uuid.uuid4()), username=username, scopes=granted, created_at=int(self.clock()))
        dynamodb = self.dynamodb
        try:
            dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "account_id": {"S": f"user#{username}"},
                    "kind": {"S": "user"},
                    "subject": {"S": user.subject},
                    "username": {"S": username},
                    "password_hash": {"S": _hasher.hash(password)},
                    "scopes": {"S": " ".join(granted)},
                    "created_at": {"N": str(user.created_at)},
                },
                ConditionExpression="attribute_not_exists(account_id)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            raise AccountExists(username) from None
        return user

    def _user_item(self, username: str) -> dict[str, Any] | None:
        try:
            canonical = validate_username(username)
        except ValueError:
            return None
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table_name, Key={"account_id": {"S": f"user#{canonical}"}}, ConsistentRead=True
        ).get("Item")
        return item

    def get_user(self, username: str) -> User | None:
        """The user, or ``None``."""
        item = self._user_item(username)
        return None if item is None else self._user(item)

    @staticmethod
    def _user(item: dict[str, Any]) -> User:
        return User(
            subject=item["subject"]["S"],
            username=item["username"]["S"],
            scopes=tuple(item.get("scopes", {}).get("S", "").split()),
            created_at=_number(item, "created_at"),
            locked_until=_number(item, "locked_until"),
        )

    def authenticate(self, username: str, password: str) -> User | None:
        """Return the user if *password* is right and the account is not locked; else ``None``.

        Every path costs one argon2 verification; failures are counted and lock the account.
        """
        item = self._user_item(username)
        now = self.clock()
        if item is None:
            self._dummy_verify(password)
            return None
        if _number(item, "locked_until") > now:
            self._dummy_verify(password)
            return None
        stored = item.get("password_hash", {}).get("S", "")
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._record_failure(item["account_id"]["S"], now)
            return None
        self._record_success(item, password)
        return self._user(item)

    @staticmethod
    def _dummy_verify(password: str) -> None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)

    def _record_failure(self, account_id: str, now: float) -> None:
        dynamodb = self.dynamodb
        key = {"account_id": {"S": account_id}}
        try:  # within the current window: count it
            response = dynamodb.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="ADD failed_logins :one",
                ConditionExpression="attribute_exists(account_id) AND failed_window_start > :cutoff",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cutoff": {"N": str(int(now) - FAILURE_WINDOW)}},
                ReturnValues="UPDATED_NEW",
            )
            count = int(response["Attributes"]["failed_logins"]["N"])
        except dynamodb.exceptions.ConditionalCheckFailedException:  # first failure of a new window
            dynamodb.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET failed_logins = :one, failed_window_start = :now",
                ConditionExpression="attribute_exists(account_id)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": str(int(now))}},
            )
            count = 1
        if count >= MAX_FAILED_LOGINS:
            dynamodb.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET locked_until = :until, failed_logins = :zero, failed_window_start = :zero",
                ExpressionAttributeValues={":until": {"N": str(int(now) + LOCKOUT_SECONDS)}, ":zero": {"N": "0"}},
            )

    def _record_success(self, item: dict[str, Any], password: str) -> None:
        names = ["failed_logins", "failed_window_start", "locked_until"]
        updates: list[str] = []
        values: dict[str, Any] = {}
        if _hasher.check_needs_rehash(item["password_hash"]["S"]):
            updates.append("password_hash = :hash")
            values[":hash"] = {"S": _hasher.hash(password)}
        present = [name for name in names if name in item]
        if not present and not updates:
            return
        expression = (f"SET {', '.join(updates)} " if updates else "") + (
            f"REMOVE {', '.join(present)}" if present else ""
        )
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"account_id": item["account_id"]},
            "UpdateExpression": expression.strip(),
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self.dynamodb.update_item(**kwargs)

    # ----------------------------------------------------------------------------------- clients

    def create_client(self, client_id: str, *, scopes: Iterable[str] = (), secret: str | None = None) -> CreatedClient:
        """Register a machine client; its secret is generated unless given (the local demo client)."""
        client_id = client_id.strip().lower()
        if not CLIENT_ID_RE.match(client_id):
            raise ValueError("client_id must be 3-64 lowercase letters, digits, '.', '_' or '-'")
        secret = secret or f"scs_{secrets.token_urlsafe(32)}"
        granted = validate_scopes(scopes)
        created = Client(client_id=client_id, scopes=granted, created_at=int(self.clock()))
        dynamodb = self.dynamodb
        try:
            dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "account_id": {"S": f"client#{client_id}"},
                    "kind": {"S": "client"},
                    "subject": {"S": client_id},
                    "client_id": {"S": client_id},
                    "secret_hash": {"S": _hash_secret(secret)},
                    "scopes": {"S": " ".join(granted)},
                    "created_at": {"N": str(created.created_at)},
                },
                ConditionExpression="attribute_not_exists(account_id)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            raise AccountExists(client_id) from None
        return CreatedClient(client=created, secret=secret)

    def authenticate_client(self, client_id: str, secret: str) -> Client | None:
        """Return the client if *secret* is its secret (constant-time comparison), else ``None``."""
        canonical = client_id.strip().lower()
        item = None
        if CLIENT_ID_RE.match(canonical):
            item = self.dynamodb.get_item(
                TableName=self.table_name, Key={"account_id": {"S": f"client#{canonical}"}}, ConsistentRead=True
            ).get("Item")
        stored = item.get("secret_hash", {}).get("S", "") if item else ""
        matches = hmac.compare_digest(stored.encode() or b"-" * 64, _hash_secret(secret).encode())
        if item is None or not matches:
            return None
        return Client(
            client_id=item["client_id"]["S"],
            scopes=tuple(item.get("scopes", {}).get("S", "").split()),
            created_at=_number(item, "created_at"),
        )

    def ping(self) -> None:
        """One cheap read; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"account_id": {"S": _READINESS_KEY}})
