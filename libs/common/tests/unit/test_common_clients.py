"""stratus_common.clients: machine clients shown once, stored hashed, compared in constant time, revocable.

The idp verifies with these functions and ``stratus client`` manages clients with them.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from stratus_common import clients

if TYPE_CHECKING:
    from collections.abc import Iterator

TABLE = "accounts"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_create_returns_the_secret_once_and_stores_its_hash(dynamodb: Any) -> None:
    created = clients.create_client(dynamodb, TABLE, "Reporting", scopes=["api", "reports:read", "api"])
    assert created.secret.startswith("scs_") and len(created.secret) == 4 + 43
    assert created.secret not in repr(created)
    assert created.client.client_id == "reporting" and created.client.scopes == ("api", "reports:read")
    [item] = dynamodb.scan(TableName=TABLE)["Items"]
    assert item["account_id"]["S"] == "client#reporting"
    assert item["secret_hash"]["S"] == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret not in json.dumps(item)


def test_an_existing_client_is_never_overwritten(dynamodb: Any) -> None:
    clients.create_client(dynamodb, TABLE, "reporting")
    with pytest.raises(clients.ClientExists):
        clients.create_client(dynamodb, TABLE, "REPORTING")


@pytest.mark.parametrize(
    ("client_id", "scopes"), [("x", []), ("has space", []), ("-dash", []), ("ok-id", ["bad scope"])]
)
def test_bad_ids_and_scopes_are_refused(dynamodb: Any, client_id: str, scopes: list[str]) -> None:
    with pytest.raises(ValueError):
        clients.create_client(dynamodb, TABLE, client_id, scopes=scopes)


def test_verify_accepts_the_secret_and_nothing_else(dynamodb: Any) -> None:
    secret = clients.create_client(dynamodb, TABLE, "svc").secret
    assert clients.verify_client(dynamodb, TABLE, "svc", secret) is not None
    assert clients.verify_client(dynamodb, TABLE, "SVC", secret) is not None
    for client_id, wrong in [("svc", secret + "x"), ("svc", ""), ("other", secret), ("s v c", secret)]:
        assert clients.verify_client(dynamodb, TABLE, client_id, wrong) is None


def test_a_user_item_is_not_a_client(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"account_id": {"S": "client#sneaky"}, "kind": {"S": "user"},
                                             "secret_hash": {"S": clients.hash_secret("s")}})  # fmt: skip
    assert clients.verify_client(dynamodb, TABLE, "sneaky", "s") is None
    with pytest.raises(clients.ClientNotFound):
        clients.get_client(dynamodb, TABLE, "sneaky")


def test_revoke_is_immediate_and_idempotent_and_list_shows_no_secret(dynamodb: Any) -> None:
    created = clients.create_client(dynamodb, TABLE, "svc", clock=lambda: 100)
    clients.create_client(dynamodb, TABLE, "another", clock=lambda: 50)
    dynamodb.put_item(TableName=TABLE, Item={"account_id": {"S": "user#bob"}, "kind": {"S": "user"}})
    revoked = clients.revoke_client(dynamodb, TABLE, "svc", clock=lambda: 200)
    assert (revoked.status, revoked.revoked_at) == ("revoked", 200)
    assert clients.revoke_client(dynamodb, TABLE, "svc", clock=lambda: 300).revoked_at == 200
    assert clients.verify_client(dynamodb, TABLE, "svc", created.secret) is None
    listed = clients.list_clients(dynamodb, TABLE)
    assert [(found.client_id, found.status) for found in listed] == [("another", "active"), ("svc", "revoked")]
    shown = json.dumps([found.public() for found in listed])
    assert created.secret not in shown and "secret_hash" not in shown
    with pytest.raises(clients.ClientNotFound):
        clients.revoke_client(dynamodb, TABLE, "nobody")
