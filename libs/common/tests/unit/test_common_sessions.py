"""stratus_common.sessions: the sessions table's record, and reading, checking and revoking a session."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.sessions import Session, SessionStore

if TYPE_CHECKING:
    from conftest import Tables

NOW = 1_000_000


BASE = Session(
    session_id="sess-1",
    subject="user-1",
    kind="user",
    status="active",
    created_at=NOW - 60,
    expires_at=NOW + 3600,
    scope="profile",
    username="alice",
)


def _session(**overrides: Any) -> Session:
    return dataclasses.replace(BASE, **overrides)


@pytest.fixture
def store(tables: Tables) -> SessionStore:
    return SessionStore(tables.dynamodb, tables.names["sessions"], clock=lambda: NOW)


def _put(tables: Tables, session: Session) -> None:
    tables.dynamodb.put_item(TableName=tables.names["sessions"], Item=session.to_item())


def test_a_stored_session_reads_back_the_same(tables: Tables, store: SessionStore) -> None:
    for session in (_session(), _session(session_id="sess-2", kind="client", username=None, client_id="reporting")):
        _put(tables, session)
        assert store.get(session.session_id) == session


def test_optional_attributes_are_stored_only_when_set() -> None:
    item = _session(username=None).to_item()
    assert "username" not in item and "client_id" not in item
    assert item["scope"] == {"S": "profile"}
    assert item["expires_at"] == {"N": str(NOW + 3600)}


def test_an_item_without_the_optional_attributes_reads_as_empty() -> None:
    session = Session.from_item({"session_id": {"S": "s"}, "subject": {"S": "u"}, "status": {"S": "active"}})
    assert (session.kind, session.scope, session.username, session.client_id) == ("", "", None, None)
    assert (session.created_at, session.expires_at) == (0, 0)


def test_public_shows_the_session_without_its_scope_or_names() -> None:
    assert _session().public() == {
        "session_id": "sess-1",
        "subject": "user-1",
        "kind": "user",
        "status": "active",
        "created_at": NOW - 60,
        "expires_at": NOW + 3600,
    }


@pytest.mark.parametrize("session_id", ["", "x" * 129, "no-such-session"])
def test_an_unknown_or_malformed_id_is_no_session(store: SessionStore, session_id: str) -> None:
    assert store.get(session_id) is None
    assert store.active(session_id) is None


def test_active_checks_status_expiry_and_subject(tables: Tables, store: SessionStore) -> None:
    _put(tables, _session())
    _put(tables, _session(session_id="expired", expires_at=NOW))
    _put(tables, _session(session_id="revoked", status="revoked"))
    assert store.active("sess-1") == _session()
    assert store.active("sess-1", "user-1") == _session()
    assert store.active("sess-1", "user-2") is None  # a token of another subject's session
    assert store.active("expired") is None  # the TTL deletes late: the expiry is checked on read
    assert store.active("revoked", "user-1") is None


def test_revoke_records_when_and_why_and_happens_once(tables: Tables, store: SessionStore) -> None:
    _put(tables, _session())
    assert store.revoke("sess-1", reason="logout") is True
    assert store.revoke("sess-1", reason="logout") is False
    [item] = tables.items("sessions")
    assert item["status"] == {"S": "revoked"}
    assert (item["revoked_at"], item["revoked_reason"]) == ({"N": str(NOW)}, {"S": "logout"})
    assert store.active("sess-1") is None


def test_revoking_with_a_subject_needs_that_subject(tables: Tables, store: SessionStore) -> None:
    _put(tables, _session())
    assert store.revoke("sess-1", "user-2", reason="logout") is False
    assert store.active("sess-1") is not None
    assert store.revoke("sess-1", "user-1", reason="logout") is True


def test_revoking_an_unknown_session_creates_nothing(tables: Tables, store: SessionStore) -> None:
    assert store.revoke("no-such-session", reason="logout") is False
    assert tables.items("sessions") == []


def test_ping_reads_without_writing(tables: Tables, store: SessionStore) -> None:
    store.ping()
    assert tables.items("sessions") == []
    with pytest.raises(Exception, match="ResourceNotFound"):
        SessionStore(tables.dynamodb, "no-such-table").ping()
