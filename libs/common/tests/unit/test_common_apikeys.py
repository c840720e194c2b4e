"""stratus_common.apikeys: keys are shown once, stored hashed, compared in constant time, revocable.

The gateway's authorizer verifies with these functions and ``stratus apikey`` manages keys with them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import pytest
from stratus_common import apikeys

if TYPE_CHECKING:
    from conftest import Tables


def test_create_returns_the_key_once_and_stores_only_its_hash(tables: Tables) -> None:
    # WHEN a key is created
    created = apikeys.create_api_key(tables.dynamodb, tables.names["api_keys"], name="ci", scopes=["jobs:write"])
    # THEN the plaintext is returned, well-formed
    key = created.plaintext
    assert key.startswith("stk_") and apikeys.parse_key_id(key) == created.key.key_id
    assert key not in repr(created)
    # AND the table holds its SHA-256, and no part of the secret
    [item] = tables.items("api_keys")
    assert item["key_hash"]["S"] == hashlib.sha256(key.encode()).hexdigest()
    secret = key[len("stk_") + 17 :]
    assert key not in json.dumps(item)
    assert secret not in json.dumps(item)
    assert item["status"]["S"] == "active"


def test_list_shows_keys_without_hashes(tables: Tables) -> None:
    table = tables.names["api_keys"]
    first = apikeys.create_api_key(tables.dynamodb, table, name="first", clock=lambda: 1000)
    second = apikeys.create_api_key(tables.dynamodb, table, name="second", clock=lambda: 2000)
    listed = apikeys.list_api_keys(tables.dynamodb, table)
    assert [key.name for key in listed] == ["first", "second"]
    shown = json.dumps([key.public() for key in listed])
    assert first.plaintext not in shown and second.plaintext not in shown
    assert "key_hash" not in shown and hashlib.sha256(first.plaintext.encode()).hexdigest() not in shown


def test_verify_accepts_the_key_and_nothing_close_to_it(tables: Tables) -> None:
    table = tables.names["api_keys"]
    key = apikeys.create_api_key(tables.dynamodb, table, name="ci").plaintext
    assert apikeys.verify_api_key(tables.dynamodb, table, key) is not None
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    for wrong in (flipped, key + "x", key[:-1], key.upper(), "", "stk_", key.replace("stk_", "sk_")):
        assert apikeys.verify_api_key(tables.dynamodb, table, wrong) is None


def test_verify_compares_hashes_in_constant_time(tables: Tables, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a spy on the comparison
    table = tables.names["api_keys"]
    key = apikeys.create_api_key(tables.dynamodb, table, name="ci").plaintext
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(apikeys.hmac, "compare_digest", spy)
    # WHEN a right key, a wrong key, and a key with an unknown id are checked
    apikeys.verify_api_key(tables.dynamodb, table, key)
    apikeys.verify_api_key(tables.dynamodb, table, key[:-1] + ("A" if key[-1] != "A" else "B"))
    apikeys.verify_api_key(tables.dynamodb, table, "stk_0123456789abcdef_" + "x" * 43)
    # THEN every one went through hmac.compare_digest, on equal-length hashes, never the key itself
    assert len(calls) == 3
    assert all(len(a) == len(b) == 64 for a, b in calls)
    assert all(key.encode() not in (a, b) for a, b in calls)


def test_revoke_stops_the_key_and_is_idempotent(tables: Tables) -> None:
    table = tables.names["api_keys"]
    created = apikeys.create_api_key(tables.dynamodb, table, name="ci")
    revoked = apikeys.revoke_api_key(tables.dynamodb, table, created.key.key_id, clock=lambda: 5000)
    assert (revoked.status, revoked.revoked_at) == ("revoked", 5000)
    assert apikeys.verify_api_key(tables.dynamodb, table, created.plaintext) is None
    again = apikeys.revoke_api_key(tables.dynamodb, table, created.key.key_id, clock=lambda: 9000)
    assert again.revoked_at == 5000


@pytest.mark.parametrize("key_id", ["0123456789abcdef", "nope", "", "../../etc"])
def test_revoking_an_unknown_key_says_so(tables: Tables, key_id: str) -> None:
    with pytest.raises(apikeys.ApiKeyNotFound):
        apikeys.revoke_api_key(tables.dynamodb, tables.names["api_keys"], key_id)
    assert tables.items("api_keys") == []  # and did not create one


def test_an_expired_key_is_refused(tables: Tables) -> None:
    table = tables.names["api_keys"]
    created = apikeys.create_api_key(tables.dynamodb, table, name="temp", expires_in=60, clock=lambda: 1000)
    assert created.key.expires_at == 1060
    assert apikeys.verify_api_key(tables.dynamodb, table, created.plaintext, clock=lambda: 1059) is not None
    assert apikeys.verify_api_key(tables.dynamodb, table, created.plaintext, clock=lambda: 1060) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "scopes": ["has space"]}, "scope"),
        ({"name": "ok", "expires_in": 0}, "expires_in"),
    ],
)
def test_bad_arguments_are_refused(tables: Tables, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apikeys.create_api_key(tables.dynamodb, tables.names["api_keys"], **kwargs)  # type: ignore[arg-type]
