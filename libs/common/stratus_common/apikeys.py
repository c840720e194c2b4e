"""API keys: created once, stored hashed, checked in constant time, revocable.

For ``auth = "api_key"`` routes the gateway's authorizer checks the ``x-api-key`` header with
:func:`verify_api_key`; ``stratus apikey create|list|revoke`` manage keys with the other functions here. Both
import this one module, so they can never disagree on the format. Every function takes a low-level DynamoDB
client and the table's name, so the caller decides where (``--env``, local cloud, AWS). Standard library only
(the authorizer imports it on its cold path).

A key looks like ``stk_<key id: 16 hex digits>_<secret: 43 URL-safe characters>`` (256 random bits). The
``stk_`` prefix lets secret scanners recognise leaked keys; the key id is not secret: it is the table's
key, shown by ``list`` and used by ``revoke``. The table stores ``key_hash = sha256(full key)`` and never
the key: with 256 random bits a plain SHA-256 cannot be reversed or brute-forced, so a slow hash (argon2)
or a pepper would only add latency to every request. The hash is compared with
:func:`hmac.compare_digest`, and a key id that does not exist still costs one hash and one comparison.

Items of the ``api_keys`` table::

    key_id      S   the key (16 hex digits)
    key_hash    S   sha256 hex of the full key
    name        S   what the key is for
    scopes      S   space-separated scopes ("" for none)
    status      S   "active" | "revoked"
    created_at  N   epoch seconds
    expires_at  N   optional; the table's TTL attribute
    revoked_at  N   when revoked
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "ApiKeyNotFound",
    "CreatedApiKey",
    "create_api_key",
    "get_api_key",
    "hash_api_key",
    "list_api_keys",
    "parse_key_id",
    "ping",
    "revoke_api_key",
    "verify_api_key",
]

KEY_PREFIX = "stk_"
_KEY_RE = re.compile(r"^stk_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_SCOPE_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,64}$")
_DUMMY_HASH = hashlib.sha256(b"stratus: no such key").hexdigest()
_READINESS_KEY = "__readiness_probe__"

Clock = Callable[[], float]


class ApiKeyNotFound(LookupError):
    """No API key with this id."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's record, without its secret or hash."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    status: str
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None

    def public(self) -> dict[str, Any]:
        """A JSON-ready view (what ``stratus apikey list`` prints)."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A new key: ``plaintext`` is shown to the caller once and stored nowhere."""

    key: ApiKey
    plaintext: str = field(repr=False)


def hash_api_key(plaintext: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def parse_key_id(presented: str) -> str | None:
    """The key id of a well-formed key, else ``None``."""
    match = _KEY_RE.match(presented)
    return match["key_id"] if match else None


def _scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(scope.strip() for scope in scopes if scope.strip()))
    for scope in out:
        if not _SCOPE_RE.match(scope):
            raise ValueError(f"invalid scope {scope!r}: use 1-64 letters, digits and : . _ / -")
    return out


def _from_item(item: dict[str, Any]) -> ApiKey:
    def number(name: str) -> int | None:
        value = item.get(name, {}).get("N")
        return int(value) if value is not None else None

    return ApiKey(
        key_id=item["key_id"]["S"],
        name=item.get("name", {}).get("S", ""),
        scopes=tuple(item.get("scopes", {}).get("S", "").split()),
        status=item.get("status", {}).get("S", ""),
        created_at=number("created_at") or 0,
        expires_at=number("expires_at"),
        revoked_at=number("revoked_at"),
    )


def create_api_key(
    dynamodb: Any,
    table_name: str,
    *,
    name: str,
    scopes: Iterable[str] = (),
    expires_in: int | None = None,
    clock: Clock = time.time,
) -> CreatedApiKey:
    """Create a key named *name*; return it with its plaintext, which is not stored and cannot be shown again.

    *expires_in* (seconds) makes the key stop working then (and the TTL delete it later).
    """
    name = name.strip()
    if not 1 <= len(name) <= 64 or not name.isprintable():
        raise ValueError("name must be 1-64 printable characters")
    if expires_in is not None and expires_in < 1:
        raise ValueError("expires_in must be at least 1 second")
    granted = _scopes(scopes)
    now = int(clock())
    for _ in range(3):  # a key id collision (64 random bits) is practically impossible; never overwrite one
        key_id = secrets.token_hex(8)
        plaintext = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        item: dict[str, Any] = {
            "key_id": {"S": key_id},
            "key_hash": {"S": hash_api_key(plaintext)},
            "name": {"S": name},
            "scopes": {"S": " ".join(granted)},
            "status": {"S": "active"},
            "created_at": {"N": str(now)},
        }
        if expires_in is not None:
            item["expires_at"] = {"N": str(now + expires_in)}
        try:
            dynamodb.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(key_id)")
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue
        return CreatedApiKey(key=_from_item(item), plaintext=plaintext)
    raise RuntimeError("could not allocate a unique key id")


def get_api_key(dynamodb: Any, table_name: str, key_id: str) -> ApiKey:
    """Return the key's record; raise :class:`ApiKeyNotFound`."""
    if not _KEY_ID_RE.match(key_id):
        raise ApiKeyNotFound(key_id)
    item = dynamodb.get_item(TableName=table_name, Key={"key_id": {"S": key_id}}, ConsistentRead=True).get("Item")
    if item is None:
        raise ApiKeyNotFound(key_id)
    return _from_item(item)


def list_api_keys(dynamodb: Any, table_name: str) -> list[ApiKey]:
    """Every key (active, expired or revoked), oldest first; never a secret or a hash."""
    keys: list[ApiKey] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "ProjectionExpression": "key_id, #name, scopes, #status, created_at, expires_at, revoked_at",
        "ExpressionAttributeNames": {"#name": "name", "#status": "status"},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        keys.extend(_from_item(item) for item in page.get("Items", []) if item["key_id"]["S"] != _READINESS_KEY)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(keys, key=lambda key: (key.created_at, key.key_id))


def revoke_api_key(dynamodb: Any, table_name: str, key_id: str, *, clock: Clock = time.time) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key keeps its first revocation time); return its record.

    Raise :class:`ApiKeyNotFound` for an unknown key id.
    """
    if not _KEY_ID_RE.match(key_id):
        raise ApiKeyNotFound(key_id)
    try:
        response = dynamodb.update_item(
            TableName=table_name,
            Key={"key_id": {"S": key_id}},
            UpdateExpression="SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :now)",
            ConditionExpression="attribute_exists(key_id)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":revoked": {"S": "revoked"}, ":now": {"N": str(int(clock()))}},
            ReturnValues="ALL_NEW",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise ApiKeyNotFound(key_id) from None
    return _from_item(response["Attributes"])


def verify_api_key(dynamodb: Any, table_name: str, presented: str, *, clock: Clock = time.time) -> ApiKey | None:
    """Return the record of an active, unexpired key equal to *presented*; else ``None``.

    One strongly consistent read (a revocation is seen at once); the hashes are compared in constant time.
    """
    if not presented or len(presented) > 256:
        return None
    key_id = parse_key_id(presented)
    if key_id is None:
        return None
    item = dynamodb.get_item(TableName=table_name, Key={"key_id": {"S": key_id}}, ConsistentRead=True).get("Item")
    stored = item.get("key_hash", {}).get("S", _DUMMY_HASH) if item else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode(), hash_api_key(presented).encode())
    if item is None or not matches:
        return None
    key = _from_item(item)
    if key.status != "active" or (key.expires_at is not None and key.expires_at <= clock()):
        return None
    return key


def ping(dynamodb: Any, table_name: str) -> None:
    """One cheap read of a key that never exists; raises if the table does not answer."""
    dynamodb.get_item(TableName=table_name, Key={"key_id": {"S": _READINESS_KEY}})
