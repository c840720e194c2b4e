"""What the users API accepts and returns: request bodies and the user's representation (errors:
:class:`stratus_common.errors.ErrorResponse`).

Validation is the first line of "no 5xx for any input": every value that reaches DynamoDB is bounded and clean.

- **name**: stripped, NFC-normalised, 1–100 characters, without control characters (``Cc``: NUL, newlines,
  tabs...), lone surrogates (``Cs``: they cannot be encoded as UTF-8, which DynamoDB requires), line and paragraph
  separators, or the bidirectional overrides and isolates that make a name display as something else.
- **email**: see :func:`normalise_email`.
- **user_id**: ``^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`` (the seeds' ``"user-123"``), except the names the app's own
  routes take (``health``, ``docs``...), which ``GET /{user_id}`` could never reach.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_VERSION",
    "RESERVED_USER_IDS",
    "USER_ID_PATTERN",
    "Email",
    "Name",
    "User",
    "UserCreate",
    "UserList",
    "UserUpdate",
    "is_user_id",
    "normalise_email",
    "normalise_name",
]

MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254
"""RFC 5321's limit on a forward path (256) less the angle brackets."""
MAX_VERSION = 2**53 - 1
"""The largest version accepted: exact in every JSON parser (and far within DynamoDB's 38 digits)."""

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
RESERVED_USER_IDS = frozenset({"health", "liveness", "readiness", "docs", "redoc"})
"""Paths the app serves itself: a user with one of these ids could never be read at ``GET /{user_id}``."""

_USER_ID = re.compile(USER_ID_PATTERN)

# The dot-atom local part (no quoted strings) and a host name of LDH labels whose last label is alphabetic
# (or an IDNA A-label). Lower case only: the address is lower-cased before it is matched.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
_EMAIL = re.compile(rf"^(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+{_TLD})$")
_MAX_LOCAL_LENGTH = 64
_MAX_DOMAIN_LENGTH = 253

# Bidirectional embeddings, overrides and isolates: they reorder how the text around them is displayed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def normalise_name(value: str) -> str:
    """Return the name NFC-normalised; raise :class:`ValueError` if it holds a character a name must not."""
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
    normalised = unicodedata.normalize("NFC", value)
    if not normalised or len(normalised) > MAX_NAME_LENGTH:
        raise ValueError(f"must be 1 to {MAX_NAME_LENGTH} characters")
    return normalised


def normalise_email(value: str) -> str:
    """Return the canonical form of an e-mail address; raise :class:`ValueError` if it is not one.

    The address is stripped and lower-cased **whole**, local part included: RFC 5321 allows a mail server to
    treat ``Ann@example.com`` and ``ann@example.com`` as two mailboxes, but none of the common ones do, and
    keeping them apart would let two users claim what is one person's mailbox. Uniqueness, the ``by-email``
    index and the representation all use this form.

    Accepted: a dot-atom local part of at most 64 characters (no quoted strings, no comments), ``@``, a domain
    of at least two LDH labels whose last one is alphabetic or an ``xn--`` A-label; 254 characters in all.
    ASCII only: an internationalised domain is accepted in its ``xn--`` form; UTF-8 local parts are refused.
    """
    address = value.strip()
    if len(address) > MAX_EMAIL_LENGTH:
        raise ValueError(f"must be at most {MAX_EMAIL_LENGTH} characters")
    if not address.isascii():
        raise ValueError("must be an ASCII address (an internationalised domain in its xn-- form)")
    address = address.lower()
    match = _EMAIL.match(address)
    if match is None:
        raise ValueError("is not a valid e-mail address")
    if len(match["local"]) > _MAX_LOCAL_LENGTH:
        raise ValueError(f"the part before @ must be at most {_MAX_LOCAL_LENGTH} characters")
    if len(match["domain"]) > _MAX_DOMAIN_LENGTH:
        raise ValueError(f"the domain must be at most {_MAX_DOMAIN_LENGTH} characters")
    return address


def is_user_id(value: str) -> bool:
    """Whether *value* can be the id of a user (so: whether it is worth looking up)."""
    return _USER_ID.match(value) is not None and value not in RESERVED_USER_IDS


def _not_reserved(value: str | None) -> str | None:
    if value in RESERVED_USER_IDS:
        raise ValueError(f"{value!r} is reserved: the service uses this path itself")
    return value


Name = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_LENGTH, description="The user's name: 1–100 characters, no controls"),
    AfterValidator(normalise_name),
]
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=MAX_EMAIL_LENGTH,
        description="An e-mail address; stored lower-cased",
        json_schema_extra={"format": "email"},
    ),
    AfterValidator(normalise_email),
]
Version = Annotated[
    int,
    Field(strict=True, ge=1, le=MAX_VERSION, description="The version the change is based on, as last read"),
]


class UserCreate(BaseModel):
    """The body of ``POST /``."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"user_id": "user-123", "name": "John Doe", "email": "john@example.com"}]},
    )

    name: Name
    email: Email
    user_id: Annotated[
        str | None,
        Field(pattern=USER_ID_PATTERN, description="The id to give the user; a uuid4 when absent"),
        AfterValidator(_not_reserved),
    ] = None


class UserUpdate(BaseModel):
    """The body of ``PUT /{user_id}``: the whole new state, and the version it replaces."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"name": "John Doe", "email": "john.doe@example.com", "version": 1}]},
    )

    name: Name
    email: Email
    version: Version


class User(BaseModel):
    """A user, as the API shows it."""

    user_id: str
    name: str
    email: str = Field(json_schema_extra={"format": "email"})
    version: int = Field(description="Incremented by each change; send it back to change or delete the user")
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str = Field(description="ISO 8601, UTC")


class UserList(BaseModel):
    """A page of users."""

    items: list[User]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last one")
