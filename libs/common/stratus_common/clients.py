"""Machine clients of the idp (OAuth 2.0 client credentials): created once, stored hashed, revocable.

The idp verifies a client's secret with :func:`verify_client` (``grant_type=client_credentials``) and
``stratus client create|list|revoke`` manages clients with the other functions here: one implementation, so the
command and the idp cannot disagree on the format. Every function takes a low-level DynamoDB client and the name of
the ``accounts`` table (the idp's users live there too), so the caller decides where (``--env``, local cloud, AWS).
Standard library only: no argon2 here.

A secret looks like ``scs_<43 URL-safe characters>`` (256 random bits), shown once. The table stores its SHA-256
and never the secret: with 256 random bits a slow hash would add nothing but latency. The hashes are compared
with :func:`hmac.compare_digest`, and an unknown client id still costs one hash and one comparison.

Items of the ``accounts`` table, keyed by ``account_id``::

    account_id   S   "client#<client id>"
    kind         S   "client"
    subject      S   the client id (the tokens' sub)
    client_id    S   3-64 lowercase letters, digits, '.', '_', '-'
    secret_hash  S   sha256 hex of the secret
    scopes       S   space-separated scopes ("" for none)
    status       S   "active" | "revoked" (an item without one is active)
    created_at   N   epoch seconds
    revoked_at   N   when revoked
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
    "CLIENT_ID_RE",
    "SCOPE_RE",
    "SECRET_PREFIX",
    "Client",
    "ClientExists",
    "ClientNotFound",
    "CreatedClient",
    "canonical_client_id",
    "create_client",
    "get_client",
    "hash_secret",
    "list_clients",
    "revoke_client",
    "validate_scopes",
    "verify_client",
]

SECRET_PREFIX = "scs_"  # noqa: S105 - a prefix, for secret scanners
CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
SCOPE_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,64}$")
_DUMMY_HASH = hashlib.sha256(b"stratus: no such client").hexdigest()
_MAX_SECRET = 256

Clock = Callable[[], float]


class ClientNotFound(LookupError):
    """No client with this id."""


class ClientExists(Exception):
    """A client with this id exists already."""


@dataclass(frozen=True, slots=True)
class Client:
    """A machine client's record, without its secret or hash."""

    client_id: str
    scopes: tuple[str, ...]
    status: str = "active"
    created_at: int = 0
    revoked_at: int | None = None

    def public(self) -> dict[str, Any]:
        """A JSON-ready view (what ``stratus client list`` prints)."""
        return {
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "status": self.status,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class CreatedClient:
    """A new client: ``secret`` is shown to the caller once and stored only as a hash."""

    client: Client
    secret: str = field(repr=False)


def hash_secret(secret: str) -> str:
    """The stored form of a client secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_client_id(client_id: str) -> str:
    """The client id, lower-cased; raise ``ValueError`` if it is not 3-64 letters, digits, '.', '_', '-'."""
    canonical = client_id.lower()
    if not CLIENT_ID_RE.match(canonical):
        raise ValueError("client id must be 3-64 lowercase letters, digits, '.', '_' or '-', not starting with a sign")
    return canonical


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes, stripped and deduplicated; raise ``ValueError`` on a malformed one."""
    out = tuple(dict.fromkeys(scope.strip() for scope in scopes if scope.strip()))
    for scope in out:
        if not SCOPE_RE.match(scope):
            raise ValueError(f"invalid scope {scope!r}: use 1-64 letters, digits and : . _ / -")
    return out


def _key(client_id: str) -> dict[str, Any]:
    return {"account_id": {"S": f"client#{client_id}"}}


def _from_item(item: dict[str, Any]) -> Client:
    def number(name: str) -> int | None:
        value = item.get(name, {}).get("N")
        return int(value) if value is not None else None

    return Client(
        client_id=item["client_id"]["S"],
        scopes=tuple(item.get("scopes", {}).get("S", "").split()),
        status=item.get("status", {}).get("S", "active"),
        created_at=number("created_at") or 0,
        revoked_at=number("revoked_at"),
    )


def create_client(
    dynamodb: Any,
    table_name: str,
    client_id: str,
    *,
    scopes: Iterable[str] = (),
    secret: str | None = None,
    clock: Clock = time.time,
) -> CreatedClient:
    """Create the client *client_id*; return it with its secret (generated unless given: the local demo client).

    Raise ``ValueError`` (bad id or scope) or :class:`ClientExists`; an existing client is never overwritten.
    """
    client_id = canonical_client_id(client_id)
    granted = validate_scopes(scopes)
    secret = secret or f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"
    item = {
        **_key(client_id),
        "kind": {"S": "client"},
        "subject": {"S": client_id},
        "client_id": {"S": client_id},
        "secret_hash": {"S": hash_secret(secret)},
        "scopes": {"S": " ".join(granted)},
        "status": {"S": "active"},
        "created_at": {"N": str(int(clock()))},
    }
    try:
        dynamodb.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(account_id)")
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise ClientExists(client_id) from None
    return CreatedClient(client=_from_item(item), secret=secret)


def get_client(dynamodb: Any, table_name: str, client_id: str) -> Client:
    """The client's record; raise :class:`ClientNotFound`."""
    try:
        canonical = canonical_client_id(client_id)
    except ValueError:
        raise ClientNotFound(client_id) from None
    item = dynamodb.get_item(TableName=table_name, Key=_key(canonical), ConsistentRead=True).get("Item")
    if item is None or item.get("kind", {}).get("S") != "client":
        raise ClientNotFound(client_id)
    return _from_item(item)


def list_clients(dynamodb: Any, table_name: str) -> list[Client]:
    """Every client (active or revoked), by id; never a secret or a hash."""
    found: list[Client] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "kind = :client",
        "ProjectionExpression": "client_id, scopes, #status, created_at, revoked_at",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":client": {"S": "client"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        found.extend(_from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(found, key=lambda client: client.client_id)


def revoke_client(dynamodb: Any, table_name: str, client_id: str, *, clock: Clock = time.time) -> Client:
    """Revoke the client: its secret gets no token from now on (idempotent; the first revocation time is kept).

    Raise :class:`ClientNotFound` for an unknown client id.
    """
    try:
        canonical = canonical_client_id(client_id)
    except ValueError:
        raise ClientNotFound(client_id) from None
    try:
        response = dynamodb.update_item(
            TableName=table_name,
            Key=_key(canonical),
            UpdateExpression="SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :now)",
            ConditionExpression="attribute_exists(account_id) AND kind = :client",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":revoked": {"S": "revoked"},
                ":now": {"N": str(int(clock()))},
                ":client": {"S": "client"},
            },
            ReturnValues="ALL_NEW",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise ClientNotFound(client_id) from None
    return _from_item(response["Attributes"])


def verify_client(dynamodb: Any, table_name: str, client_id: str, secret: str) -> Client | None:
    """The record of the active client *client_id* if *secret* is its secret; else ``None``.

    One strongly consistent read (a revocation is seen at once); the hashes are compared in constant time, and an
    unknown or malformed client id costs the same hash and comparison.
    """
    item = None
    canonical = client_id.lower()
    if CLIENT_ID_RE.match(canonical) and len(secret) <= _MAX_SECRET:
        item = dynamodb.get_item(TableName=table_name, Key=_key(canonical), ConsistentRead=True).get("Item")
    stored = item.get("secret_hash", {}).get("S", _DUMMY_HASH) if item else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode(), hash_secret(secret).encode())
    if item is None or not matches or item.get("kind", {}).get("S") != "client":
        return None
    client = _from_item(item)
    return client if client.status == "active" else None
