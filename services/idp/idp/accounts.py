"""Accounts in the ``accounts`` table: users (password, argon2id), machine clients and registration invites.

Items, keyed by ``account_id``::

    user#<username>          kind "user":   subject (uuid, the tokens' sub), username, password_hash (argon2id),
                                            scopes, created_at, and the failed-attempt state of :mod:`idp.lockout`
    client#<client id>       kind "client": :mod:`stratus_common.clients` (shared with ``stratus client``)
    invite#<sha256 of code>  kind "invite": :mod:`stratus_common.invites` (shared with ``stratus invite``)

**Sign-in** (:meth:`AccountStore.authenticate`): one consistent read, one conditional write that reserves the
attempt (:mod:`idp.lockout`: at most 5 passwords are checked per 15 minutes, whatever the concurrency), then one
argon2 verification. Unknown user, locked account and wrong password make exactly these calls and get the same
answer; an unknown or locked one is verified against a dummy hash, so it costs the same. Anyone can lock a known
username for 15 minutes: the usual trade-off, documented (the per-username rate limit bounds how often).

**Passwords**: argon2id with argon2-cffi's defaults (RFC 9106 "low memory": t=3, m=64 MiB, p=4), rehashed at
sign-in when the parameters change; the policy is :mod:`idp.passwords`. Each real verification is logged
("Password checked", with the subject, the attempt's number in the window and the outcome; never the password,
the username typed or the hash).

**Registration with an invite** (:meth:`AccountStore.create_user` with ``invite=``): one ``TransactWriteItems``
consumes the invite and creates the user, so the invite is used only if the user is created.
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from stratus_common import clients, invites
from stratus_common.clients import Client, ClientExists, CreatedClient, validate_scopes
from stratus_common.logging import get_logger

from idp import lockout
from idp.lockout import FAILURE_WINDOW, LOCKOUT_SECONDS, MAX_FAILED_LOGINS
from idp.passwords import MAX_PASSWORD, MIN_PASSWORD, validate_password

__all__ = [
    "FAILURE_WINDOW",
    "LOCKOUT_SECONDS",
    "MAX_FAILED_LOGINS",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "USERNAME_PATTERN",
    "AccountExists",
    "AccountStore",
    "Client",
    "CreatedClient",
    "InvalidInvite",
    "User",
    "validate_password",
    "validate_username",
]

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$"
USERNAME_RE = re.compile(USERNAME_PATTERN)
DEFAULT_USER_SCOPES = ("profile",)
_READINESS_KEY = "__readiness_probe__"

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
logger = get_logger("idp")


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so that it costs as much as a real one."""
    return _hasher.hash(secrets.token_urlsafe(16))


Clock = Callable[[], float]


class AccountExists(Exception):
    """The username or client id is taken."""


class InvalidInvite(Exception):
    """The invite does not exist, is used or has expired."""


def validate_username(username: str) -> str:
    """Return the canonical (lower-case) username; raise ``ValueError`` saying what is wrong."""
    if not USERNAME_RE.match(username):
        raise ValueError("must be 3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
    return username.lower()


@dataclass(frozen=True)
class User:
    """A user account (its hash stays in the store)."""

    subject: str
    username: str
    scopes: tuple[str, ...]
    created_at: int
    locked_until: int = 0


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


class AccountStore:
    """Users, clients and invites in the accounts table (a low-level DynamoDB client)."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Clock = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    # ----------------------------------------------------------------------------------- users

    def create_user(
        self,
        username: str,
        password: str,
        *,
        scopes: Iterable[str] = DEFAULT_USER_SCOPES,
        invite: str | None = None,
    ) -> User:
        """Register a user; raise ``ValueError`` (bad input), :class:`AccountExists` or :class:`InvalidInvite`.

        With *invite*, the invite is consumed in the same transaction (its scopes are the caller's to add).
        """
        username = validate_username(username)
        validate_password(password, username)
        granted = validate_scopes(scopes)
        now = int(self.clock())
        user = User(subject=str(uuid.uuid4()), username=username, scopes=granted, created_at=now)
        item = {
            "account_id": {"S": f"user#{username}"},
            "kind": {"S": "user"},
            "subject": {"S": user.subject},
            "username": {"S": username},
            "password_hash": {"S": _hasher.hash(password)},
            "scopes": {"S": " ".join(granted)},
            "created_at": {"N": str(now)},
        }
        put = {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(account_id)"}
        dynamodb = self.dynamodb
        if invite is None:
            try:
                dynamodb.put_item(**put)
            except dynamodb.exceptions.ConditionalCheckFailedException:
                raise AccountExists(username) from None
            return user
        redeem = invites.redeem_action(self.table_name, invite, used_by=user.subject, now=now)
        try:
            dynamodb.transact_write_items(TransactItems=[redeem, {"Put": put}])
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise InvalidInvite from None
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise AccountExists(username) from None
            raise  # a conflict with a concurrent transaction: an AWS error, the caller answers 503
        return user

    def find_invite(self, code: str) -> invites.Invite | None:
        """The invite of *code* if it can be used now; else ``None``."""
        return invites.find_invite(self.dynamodb, self.table_name, code, clock=self.clock)

    def get_user(self, username: str) -> User | None:
        """The user, or ``None``."""
        try:
            key = {"account_id": {"S": f"user#{validate_username(username)}"}}
        except ValueError:
            return None
        item = self.dynamodb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return None if item is None else self._user(item)

    @staticmethod
    def _user(item: dict[str, Any]) -> User:
        return User(
            subject=item["subject"]["S"],
            username=item["username"]["S"],
            scopes=tuple(item.get("scopes", {}).get("S", "").split()),
            created_at=_number(item, "created_at"),
            locked_until=lockout.locked_until(item),
        )

    def authenticate(self, username: str, password: str) -> User | None:
        """Return the user if *password* is right and the account is not locked; else ``None``.

        Every path makes the same DynamoDB calls (a read and a reservation) and one argon2 verification.
        """
        key = {"account_id": {"S": f"user#{username.strip().lower()}"}}
        item = self.dynamodb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        if item is not None and item.get("kind", {}).get("S") != "user":
            item = None
        reserved = lockout.reserve(self.dynamodb, self.table_name, key, item, self.clock())
        if reserved is None:
            self._dummy_verify(password)
            return None
        stored = reserved.get("password_hash", {}).get("S", "")
        subject = reserved["subject"]["S"]
        attempt = _number(reserved, "failed_logins")
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            logger.info("Password checked", extra={"subject": subject, "attempt": attempt, "outcome": "mismatch"})
            return None
        logger.info("Password checked", extra={"subject": subject, "attempt": attempt, "outcome": "match"})
        rehash = _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None
        lockout.clear(self.dynamodb, self.table_name, reserved, set_hash=rehash)
        return self._user({**reserved, "failed_logins": {"N": "0"}})

    @staticmethod
    def _dummy_verify(password: str) -> None:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_dummy_hash(), password)

    # ----------------------------------------------------------------------------------- clients

    def create_client(self, client_id: str, *, scopes: Iterable[str] = (), secret: str | None = None) -> CreatedClient:
        """Register a machine client (:func:`stratus_common.clients.create_client`); raise :class:`AccountExists`."""
        try:
            return clients.create_client(
                self.dynamodb, self.table_name, client_id, scopes=scopes, secret=secret, clock=self.clock
            )
        except ClientExists:
            raise AccountExists(client_id) from None

    def authenticate_client(self, client_id: str, secret: str) -> Client | None:
        """The active client if *secret* is its secret (constant-time comparison), else ``None``."""
        return clients.verify_client(self.dynamodb, self.table_name, client_id, secret)

    def ping(self) -> None:
        """One cheap read; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"account_id": {"S": _READINESS_KEY}})
