"""The ``sessions`` table, as the gateway sees it: is a session active, and logging out (revoking it).

The idp creates a session at every login (``POST /auth/token``) and puts its id in the access token's
``sid`` claim; every token of the session (and every refresh token of its family) dies with it. Items::

    session_id   S   the key; random, unguessable
    subject      S   the token's ``sub``
    kind         S   "user" | "client"
    status       S   "active" | "revoked"
    created_at   N   epoch seconds
    expires_at   N   epoch seconds; the table's TTL attribute (DynamoDB deletes the item some time after)
    revoked_at   N   when revoked;  revoked_reason S: "logout", "refresh_token_reuse", ...

Reads are strongly consistent, so a revocation is seen by the very next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Session", "SessionStore"]

_READINESS_KEY = "__readiness_probe__"


@dataclass(frozen=True, slots=True)
class Session:
    """What the gateway needs to know about a session."""

    session_id: str
    subject: str
    kind: str
    status: str
    created_at: int
    expires_at: int

    def public(self) -> dict[str, Any]:
        """The session as ``GET /sessions/current`` shows it."""
        return {
            "session_id": self.session_id,
            "subject": self.subject,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


def _int(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


class SessionStore:
    """The sessions table through a low-level DynamoDB client."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    def get(self, session_id: str) -> Session | None:
        """Return the session (active or not), or ``None``."""
        if not session_id or len(session_id) > 128:
            return None
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key={"session_id": {"S": session_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return Session(
            session_id=session_id,
            subject=item.get("subject", {}).get("S", ""),
            kind=item.get("kind", {}).get("S", ""),
            status=item.get("status", {}).get("S", ""),
            created_at=_int(item, "created_at"),
            expires_at=_int(item, "expires_at"),
        )

    def active(self, session_id: str, subject: str) -> Session | None:
        """Return the session if it is active, unexpired and belongs to *subject*; else ``None``."""
        session = self.get(session_id)
        if session is None or session.status != "active" or session.subject != subject:
            return None
        if session.expires_at <= self.clock():  # the TTL deletes items late (up to days): check it ourselves
            return None
        return session

    def revoke(self, session_id: str, subject: str, *, reason: str) -> bool:
        """Revoke an active session of *subject*; return whether this call revoked it."""
        dynamodb = self.dynamodb
        try:
            dynamodb.update_item(
                TableName=self.table_name,
                Key={"session_id": {"S": session_id}},
                UpdateExpression="SET #status = :revoked, revoked_at = :now, revoked_reason = :reason",
                ConditionExpression="attribute_exists(session_id) AND subject = :subject AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":active": {"S": "active"},
                    ":now": {"N": str(int(self.clock()))},
                    ":reason": {"S": reason},
                    ":subject": {"S": subject},
                },
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def ping(self) -> None:
        """One cheap read of a key that never exists; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"session_id": {"S": _READINESS_KEY}})
