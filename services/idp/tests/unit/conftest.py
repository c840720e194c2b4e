"""Fixtures of the idp's unit tests: moto's in-process AWS with the idp's tables, a client, Lambda events."""

from __future__ import annotations

import base64
import json
import os
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from argon2 import PasswordHasher
from moto import mock_aws
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common import tokens
from stratus_common.aws import reset_clients
from stratus_common.settings import get_settings

TEST_SECRET = "idp-unit-test-signing-secret-0123456789abc"
os.environ.setdefault("TOKEN_SIGNING_SECRET", TEST_SECRET)  # idp.main checks it when imported

from gateway import authorizer as gateway_authorizer  # noqa: E402
from idp import accounts, main, seed  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

TABLES = {
    "accounts": "account_id",
    "sessions": "session_id",
    "refresh_tokens": "token_hash",
    "rate_limits": "limit_key",
}
PASSWORD = "correct horse battery staple"


def reset_all() -> None:
    get_settings.cache_clear()
    reset_clients()
    tokens.reset_keys()
    seed.reset()
    gateway_authorizer.reset()


PRODUCTION_HASHER = accounts._hasher


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id with small parameters, so the suite is quick (the production ones are tested on their own)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture
def production_hasher() -> PasswordHasher:
    return PRODUCTION_HASHER


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a fixed region, the test secret, outside the local cloud; nothing cached."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "TOKEN_", "STRATUS_", "IDP_")) or name.endswith(
            ("_QUEUE_URL", "_DLQ_URL", "_TABLE_NAME", "_BUCKET_NAME", "_DATABASE_URL")
        ):
            monkeypatch.delenv(name)
    for name in ("SERVICE_NAME", "SERVICE_VERSION", "AWS_PROFILE", "ENVIRONMENT", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("STRATUS_ENV", "test")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", TEST_SECRET)
    monkeypatch.setenv("IDP_REGISTRATION", "open")  # outside local/dev the default is closed
    reset_all()
    yield
    reset_all()


@dataclass
class Cloud:
    """The idp's tables in moto, and a client to look inside."""

    dynamodb: DynamoDBClient
    tables: dict[str, str]

    def items(self, table: str) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.tables[table])["Items"])

    def item(self, table: str, key: str, value: str) -> dict[str, Any] | None:
        return self.dynamodb.get_item(TableName=self.tables[table], Key={key: {"S": value}}, ConsistentRead=True).get(
            "Item"
        )


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with the accounts, sessions and refresh_tokens tables, as the local cloud names them."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        names = {}
        for table, key in TABLES.items():
            name = f"test-{table}"
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            names[table] = name
            monkeypatch.setenv(f"{table.upper()}_TABLE_NAME", name)
        # the gateway's authorizer, for tests that check idp tokens against it
        monkeypatch.setenv(
            "STRATUS_ROUTES",
            json.dumps({"ANY /players": {"auth": "token"}, "ANY /players/{proxy+}": {"auth": "token"}}),
        )
        reset_all()
        yield Cloud(dynamodb=dynamodb, tables=names)
        reset_all()


@pytest.fixture
def client(cloud: Cloud) -> Iterator[TestClient]:
    with TestClient(main.app) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient) -> str:
    """A registered user, alice, with PASSWORD."""
    response = client.post("/register", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 201, response.text
    return "alice"


@pytest.fixture
def login(client: TestClient) -> Callable[..., Any]:
    """Log in with the password grant (form-encoded, as OAuth 2.0 says); return the response."""

    def run(username: str = "alice", password: str = PASSWORD, **extra: str) -> Any:
        return client.post(
            "/token", data={"grant_type": "password", "username": username, "password": password, **extra}
        )

    return run


@pytest.fixture
def authorize() -> Callable[[str], bool]:
    """Ask the gateway's authorizer whether a token opens a token-protected route."""

    def run(access_token: str) -> bool:
        event = {
            "version": "2.0",
            "type": "REQUEST",
            "routeKey": "ANY /players/{proxy+}",
            "rawPath": "/players/1",
            "headers": {"authorization": f"Bearer {access_token}"},
            "requestContext": {"http": {"method": "GET", "path": "/players/1", "sourceIp": "198.51.100.1"}},
        }
        return bool(gateway_authorizer.handler(event, None)["isAuthorized"])

    return run


@pytest.fixture
def http_event() -> Callable[..., dict[str, Any]]:
    """An API Gateway HTTP API event (payload 2.0) for the idp under /auth; bodies are base64, as AWS sends forms."""

    def build(
        method: str, raw_path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        all_headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"}
        all_headers.update(headers or {})
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "ANY /auth/{proxy+}",
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": all_headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.1"},
                "requestId": "req-" + uuid.uuid4().hex[:8],
                "routeKey": "ANY /auth/{proxy+}",
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
            "isBase64Encoded": False,
        }
        if body is not None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
            all_headers["content-length"] = str(len(body))
        return event

    return build


def lambda_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


@pytest.fixture
def as_json() -> Callable[[dict[str, Any]], Any]:
    return lambda_json
