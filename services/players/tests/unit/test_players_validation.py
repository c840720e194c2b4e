"""What the players API accepts: display names (with hypothesis), countries, difficulties, ids; and that nothing a
client sends, however odd, gets a 5xx: each bad input is a 422 (or 400 for what is not JSON) naming the field."""

from __future__ import annotations

import unicodedata
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from players.models import MAX_DISPLAY_NAME, normalise_display_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient

    Caller = Callable[..., TestClient]


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return [detail["field"] for detail in body["error"]["details"]]


@pytest.fixture
def alice(caller: Caller) -> TestClient:
    return caller("alice")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.display_name"),
        ({"display_name": ""}, "body.display_name"),
        ({"display_name": "   \t  "}, "body.display_name"),
        ({"display_name": "x" * (MAX_DISPLAY_NAME + 1)}, "body.display_name"),
        ({"display_name": "x" * 10_000}, "body.display_name"),
        ({"display_name": "a\x00b"}, "body.display_name"),
        ({"display_name": "two\nlines"}, "body.display_name"),
        ({"display_name": "bell\x07"}, "body.display_name"),
        ({"display_name": "c1\x85control"}, "body.display_name"),
        ({"display_name": "\u202egnp.exe"}, "body.display_name"),  # right-to-left override
        ({"display_name": "isolate\u2066x\u2069"}, "body.display_name"),
        ({"display_name": "line\u2028separator"}, "body.display_name"),
        ({"display_name": "\u200b\u200d"}, "body.display_name"),  # nothing visible
        ({"display_name": 42}, "body.display_name"),
        ({"display_name": None}, "body.display_name"),
        ({"display_name": ["Alice"]}, "body.display_name"),
        ({"display_name": "Alice", "country": "de"}, "body.country"),
        ({"display_name": "Alice", "country": "DEU"}, "body.country"),
        ({"display_name": "Alice", "country": "D1"}, "body.country"),
        ({"display_name": "Alice", "country": "ÄÖ"}, "body.country"),
        ({"display_name": "Alice", "country": 49}, "body.country"),
        ({"display_name": "Alice", "preferred_difficulty": "extreme"}, "body.preferred_difficulty"),
        ({"display_name": "Alice", "preferred_difficulty": "EASY"}, "body.preferred_difficulty"),
        ({"display_name": "Alice", "player_id": "someone-else"}, "body.player_id"),
        ({"display_name": "Alice", "version": 3}, "body.version"),
    ],
)
def test_a_bad_profile_is_a_422_naming_the_field(alice: TestClient, body: dict[str, Any], field: str) -> None:
    response = alice.post("/", json=body)
    assert _fields(response) == [field]
    # AND nothing was stored
    assert alice.get("/alice").status_code == 404


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"display_name": "\\ud800"}', "body.display_name"),  # a lone surrogate
        (b'{"display_name": "ok\\udfff"}', "body.display_name"),
        (b'{"display_name": "Alice", "country": "\\ud83d"}', "body.country"),
    ],
)
def test_lone_surrogates_are_a_422(alice: TestClient, raw: bytes, field: str) -> None:
    response = alice.post("/", content=raw, headers={"content-type": "application/json"})
    assert _fields(response) == [field]


@pytest.mark.parametrize("raw", [b"not json", b'{"display_name": "Alice"', b"\xff\xfe", b'{"display_name": "A"}}'])
def test_a_body_that_is_not_json_is_a_400(alice: TestClient, raw: bytes) -> None:
    response = alice.post("/", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_numbers_json_cannot_hold_are_a_422(alice: TestClient, number: bytes) -> None:
    alice.post("/", json={"display_name": "Alice"})
    raw = b'{"display_name": "A", "version": ' + number + b"}"
    response = alice.put("/alice", content=raw, headers={"content-type": "application/json"})
    assert _fields(response) == ["body.version"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "A", "version": 0}, "body.version"),
        ({"display_name": "A", "version": -1}, "body.version"),
        ({"display_name": "A", "version": 10**100}, "body.version"),
        ({"display_name": "A", "version": 1.5}, "body.version"),
        ({"display_name": "A", "version": "one"}, "body.version"),
        ({"display_name": "A", "version": 1, "owner": "me"}, "body.owner"),
    ],
)
def test_a_bad_update_is_a_422_naming_the_field(alice: TestClient, body: dict[str, Any], field: str) -> None:
    alice.post("/", json={"display_name": "Alice"})
    assert _fields(alice.put("/alice", json=body)) == [field]


@pytest.mark.parametrize(
    "player_id",
    ["a" * 129, "-starts-with-dash", "has space", "a%00b", "%ED%A0%80", "%E2%80%AEevil", "é", "a%09b", "_", "a;b"],
)
def test_a_malformed_player_id_is_a_422_naming_it(alice: TestClient, player_id: str) -> None:
    for method, suffix in (("GET", ""), ("GET", "/stats"), ("PUT", ""), ("DELETE", "?version=1")):
        body = {"display_name": "x", "version": 1} if method == "PUT" else None
        response = alice.request(method, f"/{player_id}{suffix}", json=body)
        assert _fields(response) == ["path.player_id"], (method, suffix)


def test_accepted_names_are_stored_normalised(alice: TestClient, caller: Caller) -> None:
    # GIVEN names that are unusual but fine: decomposed accents, RTL scripts, emoji with joiners, exactly 40 chars
    cases = {
        "  Zoe\u0308  ": "Zoë",  # stripped and composed (NFC)
        "محمد": "محمد",
        "👩\u200d💻 coder": "👩\u200d💻 coder",
        "x" * MAX_DISPLAY_NAME: "x" * MAX_DISPLAY_NAME,
        "A" + "\u0301" * 5: unicodedata.normalize("NFC", "A" + "\u0301" * 5),
    }
    for n, (sent, stored) in enumerate(cases.items()):
        # WHEN each is sent THEN it is stored as its normal form
        response = caller(f"user-{n}").post("/", json={"display_name": sent})
        assert response.status_code == 201, sent
        assert response.json()["display_name"] == stored


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_a_normalised_name_follows_every_rule(text: str) -> None:
    # GIVEN any text: WHEN it is normalised, it is either refused, or a name that keeps every rule
    try:
        name = normalise_display_name(text)
    except ValueError:
        return
    assert 1 <= len(name) <= MAX_DISPLAY_NAME
    assert name == name.strip() == unicodedata.normalize("NFC", name)
    assert not any(unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"} for char in name)
    assert not set(name) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert normalise_display_name(name) == name  # idempotent


@given(name=st.one_of(st.text(max_size=50), st.text(alphabet=st.characters(codec="utf-8"), min_size=35, max_size=45)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_name_is_created_as_normalised_or_refused_naming_it(caller: Caller, name: str) -> None:
    # GIVEN a fresh account (a profile per account) and any text as its name
    client = caller(str(uuid.uuid4()))
    # WHEN it creates its profile
    response = client.post("/", json={"display_name": name})
    # THEN it is created with the normalised name, or refused naming display_name: never a 5xx
    try:
        expected = normalise_display_name(name)
    except ValueError:
        assert _fields(response) == ["body.display_name"]
    else:
        assert response.status_code == 201, response.text
        assert response.json()["display_name"] == expected
