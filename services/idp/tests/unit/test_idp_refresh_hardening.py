"""Refresh: a bad scope does not use the refresh token up; a concurrent transaction on the token is reuse.

Real DynamoDB cancels a transaction that meets another one in flight on the same item with the reason
``TransactionConflict``; moto never does, so that answer comes from botocore's Stubber (on a client of its own for
the refresh_tokens table; the sessions table stays moto's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from idp import main
from idp.sessions import RefreshError, RefreshTokens, hash_refresh_token
from stratus_common.tokens import verify_access_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient


@pytest.fixture
def tokens(alice: str, login: Callable[..., Any]) -> dict[str, Any]:
    body: dict[str, Any] = login().json()
    return body


@pytest.mark.parametrize("path", ["/refresh", "/token"])
def test_a_bad_scope_keeps_the_refresh_token_usable(
    client: TestClient, tokens: dict[str, Any], cloud: Cloud, authorize: Callable[[str], bool], path: str
) -> None:
    presented = {"refresh_token": tokens["refresh_token"], "grant_type": "refresh_token"}
    # WHEN a refresh asks for a scope the session does not have
    refused = client.post(path, data={**presented, "scope": "profile admin"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    # THEN the token was not rotated...
    item = cloud.item("refresh_tokens", "token_hash", hash_refresh_token(tokens["refresh_token"]))
    assert item is not None and item["status"]["S"] == "active"
    # ...so the retry with a good scope works, and the session was never revoked
    retried = client.post(path, data={**presented, "scope": "profile"})
    assert retried.status_code == 200, retried.text
    assert authorize(retried.json()["access_token"])
    sid = verify_access_token(tokens["access_token"])["sid"]
    session = cloud.item("sessions", "session_id", sid)
    assert session is not None and session["status"]["S"] == "active"


def test_a_transaction_conflict_on_the_token_is_reuse(tokens: dict[str, Any], cloud: Cloud) -> None:
    # GIVEN the refresh_tokens table behind a client whose TransactWriteItems meets a concurrent transaction
    token_item = cloud.item("refresh_tokens", "token_hash", hash_refresh_token(tokens["refresh_token"]))
    stubbed = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(stubbed)
    stubber.add_response("get_item", {"Item": token_item}, {"TableName": ANY, "Key": ANY, "ConsistentRead": True})
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled, please refer cancellation reasons for specific reasons",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}]},
    )
    refresh_tokens = RefreshTokens(stubbed, cloud.tables["refresh_tokens"], main.get_sessions())
    # WHEN the token is rotated
    with stubber, pytest.raises(RefreshError) as raised:
        refresh_tokens.rotate(tokens["refresh_token"])
    # THEN it is treated as reuse: the session (moto's, for real) is revoked
    assert raised.value.reason == "reused"
    stubber.assert_no_pending_responses()
    sid = verify_access_token(tokens["access_token"])["sid"]
    session = cloud.item("sessions", "session_id", sid)
    assert session is not None and session["status"]["S"] == "revoked"
