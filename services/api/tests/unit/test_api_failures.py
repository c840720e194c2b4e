"""When AWS fails: a 503 with Retry-After, never a 500; transactions cancelled by concurrent ones are retried."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from api.main import app, get_user_store
from api.store import StoreBusy, UserStore
from stratus_common.testing import cancelled_transaction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Cloud
    from fastapi.testclient import TestClient


class ConflictingClient:
    """A DynamoDB client whose first *conflicts* transactions are cancelled by a (pretend) concurrent one."""

    def __init__(self, real: Any, conflicts: int) -> None:
        self.real = real
        self.conflicts = conflicts
        self.transactions = 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.transactions <= self.conflicts:
            raise cancelled_transaction("None", "TransactionConflict")
        return self.real.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def conflicting(cloud: Cloud) -> Iterator[Any]:
    """Make the app's store use a client whose transactions conflict as many times as the test sets."""
    client = ConflictingClient(cloud.dynamodb, conflicts=0)
    sleeps: list[float] = []
    app.dependency_overrides[get_user_store] = lambda: UserStore(
        client, cloud.users_table, cloud.emails_table, sleep=sleeps.append
    )
    yield client, sleeps
    app.dependency_overrides.clear()


def test_a_transaction_conflict_is_retried_with_backoff(client: TestClient, conflicting: Any) -> None:
    dynamodb, sleeps = conflicting
    dynamodb.conflicts = 2
    response = client.post("/", json={"name": "Ann", "email": "ann@example.com"})
    assert response.status_code == 201
    assert dynamodb.transactions == 3
    assert len(sleeps) == 2
    assert 0 < sleeps[0] < sleeps[1] <= 0.1


def test_a_transaction_that_keeps_conflicting_is_a_503_with_retry_after(
    client: TestClient, conflicting: Any, cloud: Cloud
) -> None:
    dynamodb, _sleeps = conflicting
    dynamodb.conflicts = 100
    response = client.post("/", json={"name": "Ann", "email": "ann@example.com"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert dynamodb.transactions == 4
    assert cloud.email_items() == []


def test_store_busy_is_raised_by_the_store_itself(cloud: Cloud) -> None:
    dynamodb: Any = ConflictingClient(cloud.dynamodb, 100)
    store = UserStore(dynamodb, cloud.users_table, cloud.emails_table, sleep=lambda _: None)
    with pytest.raises(StoreBusy):
        store.create("Ann", "ann@example.com")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/", {"name": "Ann", "email": "ann@example.com"}),
        ("GET", "/user-1", None),
        ("GET", "/?email=ann@example.com", None),
        ("GET", "/", None),
        ("PUT", "/user-1", {"name": "Ann", "email": "ann@example.com", "version": 1}),
        ("DELETE", "/user-1?version=1", None),
    ],
)
def test_dynamodb_failing_is_a_503_on_every_route(
    client: TestClient, cloud: Cloud, method: str, path: str, body: Any
) -> None:
    # GIVEN DynamoDB refuses every call (here: the tables are gone)
    cloud.dynamodb.delete_table(TableName=cloud.users_table)
    cloud.dynamodb.delete_table(TableName=cloud.emails_table)
    response = client.request(method, path, json=body)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_the_cursor_secret_failing_is_a_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CURSOR_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"
    )
    response = client.get("/", params={"cursor": "abc.def"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
