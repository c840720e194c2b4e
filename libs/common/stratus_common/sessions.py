"""The ``sessions`` table: the record of a login, shared by the idp (which creates sessions) and the gateway.

The idp creates a session at every login (``POST /auth/token``) and puts its id in the access token's
``sid`` claim; every token of the session (and every refresh token of its family) dies with it. The
gateway's authorizer, the gateway's ``/sessions/current`` and the idp's ``/auth/userinfo`` check that the
session of a token is still active; logging out, or reusing a rotated refresh token, revokes it. Items::

    session_id   S   the key; random, unguessable
    subject      S   the token's ``sub``
    kind         S   "user" | "client"
    status       S   "active" | "revoked"
    scope        S   the scopes granted at login (space-separated)
    username     S   a user session's username (optional)
    client_id    S   a client session's client id (optional)
    created_at   N   epoch seconds
    expires_at   N   epoch seconds; the table's TTL attribute (DynamoDB deletes the item some time after)
    revoked_at   N   when revoked;  revoked_reason S: "logout", "refresh_token_reuse", ...

Reads are strongly consistent, so a revocation is seen by the very next request. This module imports only
the standard library (the gateway's authorizer uses it); the DynamoDB client is passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Clock", "Session", "SessionStore"]

Clock = Callable[[], float]
MAX_SESSION_ID_LENGTH = 128
_READINESS_KEY = "__readiness_probe__"


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


@dataclass(frozen=True, slots=True)
class Session:
    """A login's session, as stored in the sessions table."""

    session_id: str
    subject: str
    kind: str
    status: str
    created_at: int
    expires_at: int
    scope: str = ""
    username: str | None = None
    client_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Session:
        """Read a DynamoDB item (low-level attribute values); a missing attribute reads as empty or 0."""
        return cls(
            session_id=item["session_id"]["S"],
            subject=item.get("subject", {}).get("S", ""),
            kind=item.get("kind", {}).get("S", ""),
            status=item.get("status", {}).get("S", ""),
            created_at=_number(item, "created_at"),
            expires_at=_number(item, "expires_at"),
            scope=item.get("scope", {}).get("S", ""),
            username=item.get("username", {}).get("S"),
            client_id=item.get("client_id", {}).get("S"),
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item of the session (``username`` and ``client_id`` only when set)."""
        item: dict[str, Any] = {
            "session_id": {"S": self.session_id},
            "subject": {"S": self.subject},
            "kind": {"S": self.kind},
            "status": {"S": self.status},
            "scope": {"S": self.scope},
            "created_at": {"N": str(self.created_at)},
            "expires_at": {"N": str(self.expires_at)},
        }
        if self.username is not None:
            item["username"] = {"S": self.username}
        if self.client_id is not None:
            item["client_id"] = {"S": self.client_id}
        return item

    def public(self) -> dict[str, Any]:
        """The session as the gateway's ``GET /sessions/current`` shows it."""
        return {
            "session_id": self.session_id,
            "subject": self.subject,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


class SessionStore:
    """The sessions table through a low-level DynamoDB client: read, check, revoke."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Clock = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    def get(self, session_id: str) -> Session | None:
        """Return the session (active or not), or ``None`` (strongly consistent read)."""
        if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
            return None
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key={"session_id": {"S": session_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else Session.from_item(item)

    def active(self, session_id: str, subject: str | None = None) -> Session | None:
        """Return the session if it is active, unexpired (and of *subject*, when given); else ``None``."""
        session = self.get(session_id)
        if session is None or session.status != "active":
            return None
        if subject is not None and session.subject != subject:
            return None
        if session.expires_at <= self.clock():  # the TTL deletes items late (up to days): check it ourselves
            return None
        return session

    def revoke(self, session_id: str, subject: str | None = None, *, reason: str) -> bool:
        """Revoke an active session (of *subject*, when given), and so its whole token family.

        Return whether this call revoked it.
        """
        condition = "attribute_exists(session_id) AND #status = :active"
        values: dict[str, Any] = {
            ":revoked": {"S": "revoked"},
            ":active": {"S": "active"},
            ":now": {"N": str(int(self.clock()))},
            ":reason": {"S": reason},
        }
        if subject is not None:
            condition = "attribute_exists(session_id) AND subject = :subject AND #status = :active"
            values[":subject"] = {"S": subject}
        dynamodb = self.dynamodb
        try:
            dynamodb.update_item(
                TableName=self.table_name,
                Key={"session_id": {"S": session_id}},
                UpdateExpression="SET #status = :revoked, revoked_at = :now, revoked_reason = :reason",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def ping(self) -> None:
        """One cheap read of a key that never exists; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"session_id": {"S": _READINESS_KEY}})
