"""dynamo: refused conditions and cancelled transactions read from DynamoDB's answers; conflicts retried, bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from stratus_common.aws_errors import is_aws_error
from stratus_common.dynamo import (
    TRANSACTION_ATTEMPTS,
    TransactionContention,
    cancellation_reasons,
    condition_failed,
    is_conditional_check_failed,
    transact_write,
)
from stratus_common.testing import cancelled_transaction

if TYPE_CHECKING:
    from conftest import Tables


class _Client:
    """A DynamoDB client whose transactions raise *errors* in turn, then apply."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {}


def _put(table: str, key: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"session_id": {"S": key}},
            "ConditionExpression": "attribute_not_exists(session_id)",
        }
    }


def test_a_refused_condition_of_a_real_write_is_recognised(tables: Tables) -> None:
    # GIVEN an item, WHEN it is put again on the condition that it does not exist
    table = tables.names["sessions"]
    tables.dynamodb.put_item(TableName=table, Item={"session_id": {"S": "s1"}})
    with pytest.raises(ClientError) as raised:
        tables.dynamodb.put_item(
            TableName=table, Item={"session_id": {"S": "s1"}}, ConditionExpression="attribute_not_exists(session_id)"
        )
    # THEN it is a refused condition, not a cancelled transaction
    assert is_conditional_check_failed(raised.value)
    assert cancellation_reasons(raised.value) is None


def test_the_reasons_of_a_real_cancelled_transaction_are_in_the_items_order(tables: Tables) -> None:
    # GIVEN s1 stored, WHEN a transaction puts s2 and s1, both on the condition that they do not exist
    table = tables.names["sessions"]
    tables.dynamodb.put_item(TableName=table, Item={"session_id": {"S": "s1"}})
    reasons = transact_write(tables.dynamodb, [_put(table, "s2"), _put(table, "s1")])  # type: ignore[list-item]
    # THEN it is cancelled: the second item's condition failed, not the first's; nothing was written
    assert reasons is not None
    assert (condition_failed(reasons, 0), condition_failed(reasons, 1), condition_failed(reasons, 2)) == (
        False,
        True,
        False,
    )
    assert [item["session_id"]["S"] for item in tables.items("sessions")] == ["s1"]
    # AND a transaction whose conditions hold applies
    assert transact_write(tables.dynamodb, [_put(table, "s3")]) is None  # type: ignore[list-item]


def test_a_transaction_cancelled_by_conflicts_is_run_again_with_growing_waits() -> None:
    # GIVEN a transaction that two concurrent ones cancel
    client = _Client(
        cancelled_transaction("None", "TransactionConflict"), cancelled_transaction("TransactionConflict", "None")
    )
    waits: list[float] = []
    # WHEN it is written THEN it applies at the third run, after two waits, the second longer
    assert transact_write(client, [], sleep=waits.append) is None  # type: ignore[arg-type]
    assert client.calls == 3
    assert len(waits) == 2
    assert 0 < waits[0] < waits[1] <= 0.05


def test_a_transaction_that_keeps_conflicting_gives_up_with_a_retryable_failure() -> None:
    client = _Client(*[cancelled_transaction("TransactionConflict") for _ in range(10)])
    waits: list[float] = []
    with pytest.raises(TransactionContention) as raised:
        transact_write(client, [], sleep=waits.append)  # type: ignore[arg-type]
    assert client.calls == TRANSACTION_ATTEMPTS
    assert len(waits) == TRANSACTION_ATTEMPTS - 1  # no wait after the last attempt
    assert is_aws_error(raised.value)  # a 503 to the client


def test_a_refused_condition_is_not_retried_even_beside_a_conflict() -> None:
    client = _Client(cancelled_transaction("ConditionalCheckFailed", "TransactionConflict"))
    reasons = transact_write(client, [], sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.calls == 1
    assert reasons == [{"Code": "ConditionalCheckFailed"}, {"Code": "TransactionConflict"}]


def test_a_cancellation_retrying_cannot_cure_is_answered_and_other_errors_raised() -> None:
    # A validation error of an item: its reasons come back at once
    invalid = _Client(cancelled_transaction("None", "ValidationError"))
    assert transact_write(invalid, [], sleep=lambda _: None) == [{"Code": "None"}, {"Code": "ValidationError"}]  # type: ignore[arg-type]
    assert invalid.calls == 1
    # Any other error of the client is the caller's
    failing = _Client(ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "TransactWriteItems"))
    with pytest.raises(ClientError):
        transact_write(failing, [], sleep=lambda _: None)  # type: ignore[arg-type]
