"""stratus_common.invites: invite codes shown once, stored as SHA-256, usable once before they expire; redeemed in
the same transaction as the user they create."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from stratus_common import invites

if TYPE_CHECKING:
    from collections.abc import Iterator

TABLE = "accounts"
NOW = 1_800_000_000


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


def _redeem(dynamodb: Any, code: str, user: str, now: float) -> list[str]:
    """Redeem *code* together with creating *user*; the cancellation reasons, or [] if it went through."""
    put = {"Put": {"TableName": TABLE, "Item": {"account_id": {"S": f"user#{user}"}, "kind": {"S": "user"}},
                   "ConditionExpression": "attribute_not_exists(account_id)"}}  # fmt: skip
    try:
        dynamodb.transact_write_items(
            TransactItems=[invites.redeem_action(TABLE, code, used_by=f"sub-{user}", now=now), put]
        )
    except dynamodb.exceptions.TransactionCanceledException as exc:
        return [reason["Code"] for reason in exc.response["CancellationReasons"]]
    return []


def test_create_stores_only_the_hash_and_an_expiry(dynamodb: Any) -> None:
    created = invites.create_invite(dynamodb, TABLE, scopes=["records:write"], expires_in=3600, clock=lambda: NOW)
    assert created.code.startswith("sti_") and created.code not in repr(created)
    [item] = dynamodb.scan(TableName=TABLE)["Items"]
    code_hash = hashlib.sha256(created.code.encode()).hexdigest()
    assert item["account_id"]["S"] == f"invite#{code_hash}"
    assert created.code not in json.dumps(item)
    assert (item["expires_at"]["N"], item["status"]["S"]) == (str(NOW + 3600), "active")
    assert created.invite.invite_id == code_hash[:12]


@pytest.mark.parametrize("expires_in", [0, 59, 366 * 86400])
def test_the_expiry_is_bounded(dynamodb: Any, expires_in: int) -> None:
    with pytest.raises(ValueError):
        invites.create_invite(dynamodb, TABLE, expires_in=expires_in)


def test_find_sees_only_usable_invites(dynamodb: Any) -> None:
    code = invites.create_invite(dynamodb, TABLE, expires_in=3600, clock=lambda: NOW).code
    found = invites.find_invite(dynamodb, TABLE, code, clock=lambda: NOW + 10)
    assert found is not None and found.status == "active"
    assert invites.find_invite(dynamodb, TABLE, code, clock=lambda: NOW + 3600) is None  # expired
    assert invites.find_invite(dynamodb, TABLE, code[:-1] + "x", clock=lambda: NOW) is None
    assert invites.find_invite(dynamodb, TABLE, "not-a-code", clock=lambda: NOW) is None


def test_an_invite_is_consumed_only_with_its_user_and_only_once(dynamodb: Any) -> None:
    code = invites.create_invite(dynamodb, TABLE, expires_in=3600, clock=lambda: NOW).code
    dynamodb.put_item(TableName=TABLE, Item={"account_id": {"S": "user#taken"}, "kind": {"S": "user"}})
    # a taken username: the whole transaction is cancelled, the invite is still usable
    assert _redeem(dynamodb, code, "taken", NOW + 1) == ["None", "ConditionalCheckFailed"]
    assert invites.find_invite(dynamodb, TABLE, code, clock=lambda: NOW + 1) is not None
    # a free one: both happen
    assert _redeem(dynamodb, code, "newbie", NOW + 2) == []
    [invite] = invites.list_invites(dynamodb, TABLE)
    assert (invite.status, invite.used_at) == ("used", NOW + 2)
    # then never again, and never once expired
    assert _redeem(dynamodb, code, "second", NOW + 3)[0] == "ConditionalCheckFailed"
    late = invites.create_invite(dynamodb, TABLE, expires_in=3600, clock=lambda: NOW).code
    assert _redeem(dynamodb, late, "late", NOW + 3600)[0] == "ConditionalCheckFailed"
    shown = json.dumps([found.public() for found in invites.list_invites(dynamodb, TABLE)])
    assert code not in shown and late not in shown
