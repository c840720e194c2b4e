"""stratus_common.bearer: the Authorization header's Bearer token, and the 401s of RFC 6750."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from stratus_common.bearer import authenticate, bearer_token, invalid_token, require_bearer_token
from stratus_common.errors import Unauthorized
from stratus_common.sessions import Session, SessionStore

if TYPE_CHECKING:
    from conftest import Tables, TokenKit


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="),
    ],
)
def test_the_token_of_a_bearer_header(header: str, token: str) -> None:
    assert bearer_token(header) == token
    assert require_bearer_token(header) == token


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearer a=b", "Bearerabc", "Token abc"]
)
def test_a_header_of_another_form_is_malformed(header: str) -> None:
    assert bearer_token(header) is None
    with pytest.raises(Unauthorized) as raised:
        require_bearer_token(header)
    assert (raised.value.status_code, raised.value.code) == (401, "invalid_request")
    assert raised.value.headers == {"WWW-Authenticate": 'Bearer realm="stratus", error="invalid_request"'}


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_is_a_challenge_without_an_error_code(header: str | None) -> None:
    assert bearer_token(header) is None
    with pytest.raises(Unauthorized) as raised:
        require_bearer_token(header)
    assert (raised.value.status_code, raised.value.code) == (401, "unauthorized")
    assert raised.value.headers == {"WWW-Authenticate": 'Bearer realm="stratus"'}  # RFC 6750 §3.1


def test_an_invalid_token_says_why() -> None:
    error = invalid_token("token expired")
    assert (error.status_code, error.code, error.message) == (
        401,
        "invalid_token",
        "The access token is not valid: token expired",
    )
    assert error.headers == {
        "WWW-Authenticate": 'Bearer realm="stratus", error="invalid_token", error_description="token expired"'
    }


def _store(tables: Tables, *sessions: Session) -> SessionStore:
    for session in sessions:
        tables.dynamodb.put_item(TableName=tables.names["sessions"], Item=session.to_item())
    return SessionStore(tables.dynamodb, tables.names["sessions"])


def _active(subject: str = "user-1") -> Session:
    return Session("sess-1", subject, "user", "active", created_at=1, expires_at=2**40)


def test_authenticate_gives_the_claims_and_the_active_session(kit: TokenKit, tables: Tables) -> None:
    store = _store(tables, _active())
    claims, session = authenticate(f"Bearer {kit.sign(kit.claims('user-1', 'sess-1'))}", store)
    assert (claims["sub"], claims["sid"]) == ("user-1", "sess-1")
    assert session == _active()


@pytest.mark.parametrize(
    ("session", "reason"),
    [
        (None, "the session has ended"),
        (_active(subject="user-2"), "the session has ended"),
    ],
    ids=["no-session", "another-subjects-session"],
)
def test_authenticate_refuses_a_token_without_its_active_session(
    kit: TokenKit, tables: Tables, session: Session | None, reason: str
) -> None:
    store = _store(tables, *([session] if session else []))
    with pytest.raises(Unauthorized) as raised:
        authenticate(f"Bearer {kit.sign(kit.claims('user-1', 'sess-1'))}", store)
    assert (raised.value.code, raised.value.message) == ("invalid_token", f"The access token is not valid: {reason}")


def test_authenticate_refuses_a_token_that_does_not_verify(kit: TokenKit, tables: Tables) -> None:
    store = _store(tables, _active())
    expired = kit.sign(kit.claims("user-1", "sess-1", iat=1, nbf=1, exp=2))
    with pytest.raises(Unauthorized) as raised:
        authenticate(f"Bearer {expired}", store)
    assert raised.value.code == "invalid_token"
    assert raised.value.message == "The access token is not valid: token expired"
