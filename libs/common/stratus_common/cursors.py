"""Opaque pagination cursors: a DynamoDB ``LastEvaluatedKey`` the client hands back, signed so it cannot be forged.

A list endpoint answers ``{"items": [...], "next_cursor": "..."}`` and takes ``?cursor=`` to go on. The cursor is
``base64url(json(key)) + "." + base64url(HMAC-SHA256(purpose + json))``: the key is not secret, but the
client cannot change it. A cursor that was edited, truncated, made for another list (``purpose``: one endpoint's
cursor is refused by another), or holds a key without exactly the expected attributes is refused with a 422 in the
stack's error shape, naming the field::

    {"error": {"code": "validation_error", "message": "Request validation failed",
               "details": [{"field": "query.cursor", "message": "...", "type": "invalid_cursor"}]}}

The key is the one of the low-level client (``{"player_id": {"S": "..."}}``) or plain values; either round-trips.
The HMAC key is a declared secret (``[secrets.cursor-signing]`` in stratus.toml, read with
:func:`stratus_common.secrets.get_secret`), or bytes given directly (tests). Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from stratus_common.errors import ApiError

__all__ = ["MAX_CURSOR_LENGTH", "CursorCodec", "InvalidCursor"]

MAX_CURSOR_LENGTH = 2048
"""Longer cursors are refused before any decoding."""


class InvalidCursor(ApiError):
    """422: the cursor was not made by this list."""

    def __init__(self, reason: str, field: str = "query.cursor") -> None:
        super().__init__(
            422,
            "validation_error",
            "Request validation failed",
            [{"field": field, "message": f"Invalid cursor: {reason}", "type": "invalid_cursor"}],
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    padded = (text + "=" * (-len(text) % 4)).encode("ascii")  # non-ASCII: UnicodeEncodeError, a ValueError
    return base64.b64decode(padded, altchars=b"-_", validate=True)  # strict: no character is silently dropped


class CursorCodec:
    """Encodes and checks the cursors of one list (*purpose*), signed with the key *secret* returns."""

    def __init__(self, purpose: str, secret: Callable[[], str | bytes], *, field: str = "query.cursor") -> None:
        self.purpose = purpose
        self._secret = secret
        self.field = field

    def _mac(self, payload: bytes) -> bytes:
        key = self._secret()
        key_bytes = key.encode() if isinstance(key, str) else key
        return hmac.new(key_bytes, self.purpose.encode() + b"\x00" + payload, hashlib.sha256).digest()

    def encode(self, key: Mapping[str, Any] | None) -> str | None:
        """The cursor that resumes after *key* (a ``LastEvaluatedKey``); ``None`` for none (the last page)."""
        if not key:
            return None
        payload = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, cursor: str | None, *, attributes: Collection[str]) -> dict[str, Any] | None:
        """The key a cursor made by :meth:`encode` carries; ``None`` for no cursor.

        *attributes* are the key's attribute names (the table's or index's keys): the key must have exactly these.
        Raises :class:`InvalidCursor` (422) for anything else.
        """
        if cursor is None or cursor == "":
            return None
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor(f"longer than {MAX_CURSOR_LENGTH} characters", self.field)
        body, dot, signature = cursor.partition(".")
        if not dot or not body or not signature:
            raise InvalidCursor("not a cursor this list returned", self.field)
        try:
            payload, mac = _unb64(body), _unb64(signature)
        except (binascii.Error, ValueError):
            raise InvalidCursor("not a cursor this list returned", self.field) from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidCursor("it was changed, or made for another list", self.field)
        try:
            key = json.loads(payload)
        except ValueError:  # pragma: no cover - only a signed payload gets here, and we signed JSON
            raise InvalidCursor("not a cursor this list returned", self.field) from None
        if not isinstance(key, dict) or set(key) != set(attributes):
            raise InvalidCursor("not a cursor this list returned", self.field)
        return key
