"""Sessions and refresh tokens: created at login, rotated at refresh, revoked as a family.

A login creates a **session** (``sessions`` table; the record, its reads and its revocation are
:mod:`stratus_common.sessions`, shared with the gateway; creating one is the idp's,
:meth:`SessionStore.create`) whose id is the access token's ``sid``. A user session also gets a **refresh
token family**: the refresh tokens issued for the session, one after the other, in the ``refresh_tokens``
table::

    token_hash   S   sha256 hex of the refresh token (the token itself is never stored)
    session_id   S   its session: the family
    subject      S
    status       S   "active" | "rotated"
    generation   N   0 for the login's token, +1 at each rotation
    created_at   N ; rotated_at N ; expires_at N (the TTL attribute: the session's end)

**Rotation** (``POST /auth/refresh``): one ``TransactWriteItems`` marks the presented token ``rotated``
(condition: it is ``active``), puts its successor, and checks that the session is still ``active``.
**Reuse detection**: presenting a token that was already rotated — a stolen copy, or the legitimate
client after a thief refreshed first — revokes the whole session, so every access and refresh token of
the family stops working at once. Two concurrent refreshes with the same token are reuse too: one wins
the transaction, the other revokes the family.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stratus_common import sessions
from stratus_common.sessions import Clock, Session

__all__ = ["RefreshError", "RefreshTokens", "Rotated", "SessionStore", "hash_refresh_token"]

REFRESH_PREFIX = "srt_"
_READINESS_KEY = "__readiness_probe__"


def hash_refresh_token(token: str) -> str:
    """How a refresh token is stored: SHA-256 hex (the token has 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


class SessionStore(sessions.SessionStore):
    """The sessions table: :class:`stratus_common.sessions.SessionStore`, and starting a session at login."""

    def create(
        self,
        *,
        subject: str,
        kind: str,
        scope: str,
        lifetime: int,
        username: str | None = None,
        client_id: str | None = None,
    ) -> Session:
        """Start a session of *lifetime* seconds."""
        now = int(self.clock())
        session = Session(
            session_id=secrets.token_urlsafe(24),
            subject=subject,
            kind=kind,
            status="active",
            created_at=now,
            expires_at=now + lifetime,
            scope=scope,
            username=username,
            client_id=client_id,
        )
        self.dynamodb.put_item(
            TableName=self.table_name, Item=session.to_item(), ConditionExpression="attribute_not_exists(session_id)"
        )
        return session


class RefreshError(Exception):
    """The refresh token cannot be used; ``reason`` is ``unknown``, ``expired``, ``reused`` or ``session_ended``."""

    def __init__(self, reason: str, session_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.session_id = session_id


@dataclass(frozen=True)
class Rotated:
    """The result of a rotation: the session and the new refresh token (shown once)."""

    session: Session
    refresh_token: str = field(repr=False)


class RefreshTokens:
    """The refresh_tokens table, together with the sessions it belongs to."""

    def __init__(self, dynamodb: Any, table_name: str, sessions: SessionStore, *, clock: Clock = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.sessions = sessions
        self.clock = clock

    def _item(self, token: str, session: Session, generation: int) -> dict[str, Any]:
        return {
            "token_hash": {"S": hash_refresh_token(token)},
            "session_id": {"S": session.session_id},
            "subject": {"S": session.subject},
            "status": {"S": "active"},
            "generation": {"N": str(generation)},
            "created_at": {"N": str(int(self.clock()))},
            "expires_at": {"N": str(session.expires_at)},
        }

    def issue(self, session: Session) -> str:
        """The first refresh token of a session's family."""
        token = f"{REFRESH_PREFIX}{secrets.token_urlsafe(32)}"
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item=self._item(token, session, 0),
            ConditionExpression="attribute_not_exists(token_hash)",
        )
        return token

    def rotate(self, presented: str, *, before: Callable[[Session], object] | None = None) -> Rotated:
        """Exchange *presented* for its successor; raise :class:`RefreshError` (revoking the family on reuse).

        *before* runs with the session once the token is known to be good, before anything is written: whatever it
        raises (a scope the session does not have) leaves the token usable.
        """
        if not presented.startswith(REFRESH_PREFIX) or len(presented) > 128:
            raise RefreshError("unknown")
        old_hash = hash_refresh_token(presented)
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key={"token_hash": {"S": old_hash}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise RefreshError("unknown")
        session_id = item["session_id"]["S"]
        now = self.clock()
        if item.get("status", {}).get("S") != "active":
            self._reuse(session_id)
        if _number(item, "expires_at") <= now:
            raise RefreshError("expired", session_id)
        session = self.sessions.active(session_id)
        if session is None:
            raise RefreshError("session_ended", session_id)
        if before is not None:
            before(session)
        successor = f"{REFRESH_PREFIX}{secrets.token_urlsafe(32)}"
        new_item = self._item(successor, session, _number(item, "generation") + 1)
        dynamodb = self.dynamodb
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"token_hash": {"S": old_hash}},
                            "UpdateExpression": "SET #status = :rotated, rotated_at = :now, replaced_by = :next",
                            "ConditionExpression": "#status = :active",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":rotated": {"S": "rotated"},
                                ":active": {"S": "active"},
                                ":now": {"N": str(int(now))},
                                ":next": new_item["token_hash"],
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": new_item,
                            "ConditionExpression": "attribute_not_exists(token_hash)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.sessions.table_name,
                            "Key": {"session_id": {"S": session_id}},
                            "ConditionExpression": "#status = :active",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":active": {"S": "active"}},
                        }
                    },
                ]
            )
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            # rotated by a concurrent request (ConditionalCheckFailed), or being rotated by a concurrent transaction
            # right now (TransactionConflict, what DynamoDB answers while another transaction holds the item): reuse
            if codes[:1] in (["ConditionalCheckFailed"], ["TransactionConflict"]):
                self._reuse(session_id)
            raise RefreshError("session_ended", session_id) from None
        return Rotated(session=session, refresh_token=successor)

    def _reuse(self, session_id: str) -> None:
        self.sessions.revoke(session_id, reason="refresh_token_reuse")
        raise RefreshError("reused", session_id)

    def ping(self) -> None:
        """One cheap read; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"token_hash": {"S": _READINESS_KEY}})
