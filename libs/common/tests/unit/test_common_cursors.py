"""Opaque, signed pagination cursors: what a list returns round-trips; anything else is a 422 naming the field."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stratus_common.cursors import MAX_CURSOR_LENGTH, CursorCodec, InvalidCursor

KEY = {"player_id": {"S": "5f0c7a8e-0000-4000-8000-000000000001"}}


def codec(purpose: str = "players", secret: str = "k" * 64) -> CursorCodec:
    return CursorCodec(purpose, lambda: secret)


def test_a_key_round_trips_and_no_key_is_no_cursor() -> None:
    cursor = codec().encode(KEY)
    assert cursor is not None and "5f0c" not in cursor  # opaque to the eye, if not secret
    assert codec().decode(cursor, attributes=["player_id"]) == KEY
    assert codec().encode(None) is None and codec().encode({}) is None
    assert codec().decode(None, attributes=["player_id"]) is None
    assert codec().decode("", attributes=["player_id"]) is None


def reason(cursor: str, *, attributes: tuple[str, ...] = ("player_id",), of: CursorCodec | None = None) -> dict:
    with pytest.raises(InvalidCursor) as caught:
        (of or codec()).decode(cursor, attributes=attributes)
    assert caught.value.status_code == 422 and caught.value.code == "validation_error"
    [detail] = caught.value.details
    assert detail["field"] == "query.cursor" and detail["type"] == "invalid_cursor"
    return detail


def test_a_cursor_whose_key_was_changed_is_refused() -> None:
    _, signature = codec().encode(KEY).split(".")  # type: ignore[union-attr]
    forged = {"player_id": {"S": "someone-else"}}
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert "changed" in reason(f"{forged_body}.{signature}")["message"]


def test_a_cursor_of_another_list_or_another_key_is_refused() -> None:
    cursor = codec("users").encode(KEY)
    assert cursor is not None
    assert "another list" in reason(cursor)["message"]
    assert "another list" in reason(codec(secret="other" * 13).encode(KEY) or "")["message"]


def test_a_signed_key_with_other_attributes_is_refused() -> None:
    cursor = codec().encode({"user_id": {"S": "u1"}})
    assert cursor is not None
    reason(cursor)
    reason(codec().encode(KEY) or "", attributes=("player_id", "entry"))


@pytest.mark.parametrize(
    "cursor",
    ["x", ".", "abc.", ".abc", "a.b.c", "%%%.###", "é.é", "a" * (MAX_CURSOR_LENGTH + 1), "YWJj.not base64!"],
)
def test_garbage_is_refused_without_an_exception_of_another_kind(cursor: str) -> None:
    reason(cursor)


@given(st.text(max_size=300))
def test_no_text_gets_past_decode_but_what_encode_made(text: str) -> None:
    good = codec().encode(KEY)
    if text == good or text == "":
        return
    with pytest.raises(InvalidCursor):
        codec().decode(text, attributes=["player_id"])
