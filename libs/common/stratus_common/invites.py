"""Registration invites of the idp (``IDP_REGISTRATION=invite``): made by a command, used once, stored hashed.

``stratus invite create`` makes an invite with :func:`create_invite` and prints its code once; the idp's
``POST /auth/register`` looks it up with :func:`find_invite` and consumes it with :func:`redeem_action` in the same
``TransactWriteItems`` that creates the user, so an invite is used up only if the user is created. One
implementation for the command and the idp. Standard library only; every function takes a low-level DynamoDB client
and the name of the ``accounts`` table.

A code looks like ``sti_<43 URL-safe characters>`` (256 random bits). The table stores its SHA-256 as the key and
never the code; the first 12 hex digits of the hash are the invite's public id (``stratus invite list``).

Items of the ``accounts`` table::

    account_id   S   "invite#<sha256 hex of the code>"
    kind         S   "invite"
    invite_id    S   the first 12 hex digits of the hash
    scopes       S   scopes the invite grants on top of the default ones ("" for none)
    status       S   "active" | "used"
    created_at   N ; expires_at N (epoch seconds) ; used_at N ; used_by S (the new user's sub)
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stratus_common.clients import validate_scopes

__all__ = [
    "CODE_PREFIX",
    "DEFAULT_EXPIRY",
    "CreatedInvite",
    "Invite",
    "create_invite",
    "find_invite",
    "hash_code",
    "list_invites",
    "redeem_action",
]

CODE_PREFIX = "sti_"
DEFAULT_EXPIRY = 7 * 86400
MAX_EXPIRY = 365 * 86400
_CODE_RE = re.compile(r"^sti_[A-Za-z0-9_-]{43}$")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Invite:
    """An invite's record, without its code."""

    invite_id: str
    scopes: tuple[str, ...]
    status: str
    created_at: int
    expires_at: int
    used_at: int | None = None

    def usable(self, now: float) -> bool:
        """Not used yet and not expired at *now*."""
        return self.status == "active" and now < self.expires_at

    def public(self) -> dict[str, Any]:
        """A JSON-ready view (what ``stratus invite list`` prints)."""
        return {
            "invite_id": self.invite_id,
            "scopes": list(self.scopes),
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "used_at": self.used_at,
        }


@dataclass(frozen=True, slots=True)
class CreatedInvite:
    """A new invite: ``code`` is shown to the caller once and stored only as a hash."""

    invite: Invite
    code: str = field(repr=False)


def hash_code(code: str) -> str:
    """The stored form of an invite code: its SHA-256, hex."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def _key(code_hash: str) -> dict[str, Any]:
    return {"account_id": {"S": f"invite#{code_hash}"}}


def _from_item(item: dict[str, Any]) -> Invite:
    def number(name: str) -> int | None:
        value = item.get(name, {}).get("N")
        return int(value) if value is not None else None

    return Invite(
        invite_id=item.get("invite_id", {}).get("S", ""),
        scopes=tuple(item.get("scopes", {}).get("S", "").split()),
        status=item.get("status", {}).get("S", ""),
        created_at=number("created_at") or 0,
        expires_at=number("expires_at") or 0,
        used_at=number("used_at"),
    )


def create_invite(
    dynamodb: Any,
    table_name: str,
    *,
    scopes: Iterable[str] = (),
    expires_in: int = DEFAULT_EXPIRY,
    clock: Clock = time.time,
) -> CreatedInvite:
    """Create an invite granting *scopes* (on top of the default ones) for *expires_in* seconds; return its code,
    which is not stored and cannot be shown again."""
    if not 60 <= expires_in <= MAX_EXPIRY:
        raise ValueError("an invite expires in 1 minute to 365 days")
    granted = validate_scopes(scopes)
    now = int(clock())
    code = f"{CODE_PREFIX}{secrets.token_urlsafe(32)}"
    code_hash = hash_code(code)
    item = {
        **_key(code_hash),
        "kind": {"S": "invite"},
        "invite_id": {"S": code_hash[:12]},
        "scopes": {"S": " ".join(granted)},
        "status": {"S": "active"},
        "created_at": {"N": str(now)},
        "expires_at": {"N": str(now + expires_in)},
    }
    dynamodb.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(account_id)")
    return CreatedInvite(invite=_from_item(item), code=code)


def find_invite(dynamodb: Any, table_name: str, code: str, *, clock: Clock = time.time) -> Invite | None:
    """The invite of *code* if it can be used now (exists, unused, unexpired); else ``None``. At most one read."""
    if not _CODE_RE.match(code):
        return None
    item = dynamodb.get_item(TableName=table_name, Key=_key(hash_code(code)), ConsistentRead=True).get("Item")
    if item is None or item.get("kind", {}).get("S") != "invite":
        return None
    invite = _from_item(item)
    return invite if invite.usable(clock()) else None


def redeem_action(table_name: str, code: str, *, used_by: str, now: float) -> dict[str, Any]:
    """The ``TransactWriteItems`` element that consumes the invite of *code*: it fails (the whole transaction is
    cancelled, reason ``ConditionalCheckFailed``) unless the invite is unused and unexpired at *now*."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": _key(hash_code(code)),
            "UpdateExpression": "SET #status = :used, used_at = :now, used_by = :sub",
            "ConditionExpression": "kind = :invite AND #status = :active AND expires_at > :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":used": {"S": "used"},
                ":active": {"S": "active"},
                ":invite": {"S": "invite"},
                ":now": {"N": str(int(now))},
                ":sub": {"S": used_by},
            },
        }
    }


def list_invites(dynamodb: Any, table_name: str) -> list[Invite]:
    """Every invite (active, used or expired), oldest first; never a code or a hash."""
    found: list[Invite] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "kind = :invite",
        "ProjectionExpression": "invite_id, scopes, #status, created_at, expires_at, used_at",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":invite": {"S": "invite"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        found.extend(_from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(found, key=lambda invite: (invite.created_at, invite.invite_id))
