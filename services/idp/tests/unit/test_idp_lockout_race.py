"""The lockout under concurrent guesses, with real threads against a REAL moto server (stratus.local.aws_server,
whose DynamoDB actions are atomic, as AWS's are; moto's in-process mock is not across threads).

The review's attack: 4 wrong guesses, then 8 concurrent attempts (7 wrong, 1 right). When the lock was read before
the argon2 check and written after it, all 8 were checked and the right one accepted: a twelfth guess under a
five-guess policy. Now each attempt is reserved in DynamoDB before its password is looked at.

To make the outcome deterministic, every argon2 verification (a real one, or the dummy one of a refused attempt)
waits at a barrier until all 8 attempts have reached theirs: so all 8 reservations are decided before any password
is checked, the worst case for the old code. Exactly one of them may then be checked.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from argon2 import PasswordHasher
from botocore.config import Config
from idp import accounts
from idp.accounts import MAX_FAILED_LOGINS, AccountStore
from stratus_common.testing import moto_server

if TYPE_CHECKING:
    from collections.abc import Iterator

PASSWORD = "correct horse battery staple"
WRONG = "definitely-not-it-0"


class CountingHasher(PasswordHasher):
    """argon2id with small parameters that records each verification, and may hold it at a barrier."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified.append(hash if isinstance(hash, str) else hash.decode())
        if self.barrier is not None:
            self.barrier.wait(timeout=60)
        return super().verify(hash, password)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server("stratus.local.aws_server") as url:
        yield url


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    accounts._dummy_hash.cache_clear()
    return counting


@pytest.fixture
def store(endpoint: str) -> AccountStore:
    dynamodb: Any = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=32, retries={"mode": "standard", "total_max_attempts": 1}),
    )
    table = f"accounts-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return AccountStore(dynamodb, table)


def _stored_hash(store: AccountStore, username: str) -> str:
    item = store.dynamodb.get_item(
        TableName=store.table_name, Key={"account_id": {"S": f"user#{username}"}}, ConsistentRead=True
    )["Item"]
    return str(item["password_hash"]["S"])


def test_eight_concurrent_attempts_after_four_failures_check_one_password(
    store: AccountStore, hasher: CountingHasher
) -> None:
    # GIVEN a user with 4 wrong guesses in the window
    store.create_user("victim", PASSWORD)
    real = _stored_hash(store, "victim")
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert store.authenticate("victim", WRONG) is None
    assert hasher.verified.count(real) == MAX_FAILED_LOGINS - 1
    # WHEN 8 attempts (7 wrong, the right one among them) run at once, none checked before all are reserved
    hasher.barrier = threading.Barrier(8)
    guesses = [WRONG] * 3 + [PASSWORD] + [WRONG] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda guess: store.authenticate("victim", guess), guesses))
    hasher.barrier = None
    # THEN exactly one of the 8 had its password checked: the fifth and last of the window
    assert len(hasher.verified) == MAX_FAILED_LOGINS - 1 + 8  # every attempt cost one verification...
    assert hasher.verified.count(real) == MAX_FAILED_LOGINS  # ...but only 5 were against the real hash
    accepted = [result for result in results if result is not None]
    user = store.get_user("victim")
    assert user is not None
    if accepted:  # the right guess won the fifth slot: a legitimate fifth guess, and the count is cleared
        assert len(accepted) == 1 and user.locked_until == 0
    else:  # a wrong guess won it: the account is locked, and the right password is now refused unchecked
        assert user.locked_until > time.time()
        assert store.authenticate("victim", PASSWORD) is None
        assert hasher.verified.count(real) == MAX_FAILED_LOGINS


def test_sixteen_concurrent_wrong_guesses_on_a_fresh_account_check_at_most_five(
    store: AccountStore, hasher: CountingHasher
) -> None:
    store.create_user("fresh", PASSWORD)
    real = _stored_hash(store, "fresh")
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: store.authenticate("fresh", f"{WRONG}-{_}"), range(16)))
    assert results == [None] * 16
    assert len(hasher.verified) == 16  # each attempt cost one verification (refused ones: the dummy hash)
    assert 1 <= hasher.verified.count(real) <= MAX_FAILED_LOGINS
    # AND after exactly five checked failures the account is locked; with fewer, the remaining guesses are intact
    user = store.get_user("fresh")
    assert user is not None
    checked = hasher.verified.count(real)
    assert (user.locked_until > time.time()) == (checked == MAX_FAILED_LOGINS)
