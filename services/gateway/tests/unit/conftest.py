"""Fixtures of the gateway's unit tests: moto's in-process AWS with the gateway's tables, tokens, events."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from moto import mock_aws
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common import tokens
from stratus_common.aws import reset_clients
from stratus_common.settings import get_settings

TEST_SECRET = "gateway-unit-test-signing-secret-0123456789"
os.environ.setdefault("TOKEN_SIGNING_SECRET", TEST_SECRET)  # gateway.main checks it when imported

from gateway import authorizer, main  # noqa: E402 - after the variable it needs

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

TABLES = {"sessions": "session_id", "rate_limits": "limit_key", "api_keys": "key_id"}
ISSUER = "urn:stratus:stratus:test:idp"
AUDIENCE = "urn:stratus:stratus:test:api"


def reset_all() -> None:
    get_settings.cache_clear()
    reset_clients()
    authorizer.reset()
    main.reset()
    tokens.reset_keys()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a fixed region, the test secret; no endpoints, routes, upstreams or cached state."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "UPSTREAM_", "TOKEN_", "STRATUS_")) or name.endswith(
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
    reset_all()
    yield
    reset_all()


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the gateway's tables, and a client to look inside."""

    dynamodb: DynamoDBClient
    tables: dict[str, str]

    def items(self, table: str) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.tables[table])["Items"])

    def create_session(self, subject: str = "user-1", *, kind: str = "user", lifetime: int = 3600) -> str:
        session_id = uuid.uuid4().hex
        now = int(time.time())
        self.dynamodb.put_item(
            TableName=self.tables["sessions"],
            Item={
                "session_id": {"S": session_id},
                "subject": {"S": subject},
                "kind": {"S": kind},
                "status": {"S": "active"},
                "created_at": {"N": str(now)},
                "expires_at": {"N": str(now + lifetime)},
            },
        )
        return session_id


def create_tables(dynamodb: Any, prefix: str = "test") -> dict[str, str]:
    names = {}
    for table, key in TABLES.items():
        name = f"{prefix}-{table}"
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        names[table] = name
    return names


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with the sessions, rate_limits and api_keys tables, named as the local cloud would."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        names = create_tables(dynamodb)
        for table, name in names.items():
            monkeypatch.setenv(f"{table.upper()}_TABLE_NAME", name)
        reset_all()
        yield Cloud(dynamodb=dynamodb, tables=names)
        reset_all()


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(main.app) as test_client:
        yield test_client


def claims_for(subject: str, session_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "sid": session_id,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "kind": "user",
        "scope": "profile",
        "preferred_username": "alice",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], *, secret: str = TEST_SECRET, headers: dict[str, Any] | None = None) -> str:
    """An HS256 token as the idp signs one (header typ at+jwt, kid of the secret), unless *headers* say otherwise."""
    header = {"typ": "at+jwt", "kid": tokens.key_id(secret.encode())}
    header.update(headers or {})
    return jwt.encode(claims, secret, algorithm="HS256", headers=header)


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """A token with whatever header and no signature (``alg: none`` attacks)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


@pytest.fixture
def authorizer_event() -> Callable[..., dict[str, Any]]:
    """Build an HTTP API Lambda authorizer event, payload format 2.0 (AWS's documented example shape)."""

    def build(
        route_key: str = "ANY /worker/{proxy+}",
        raw_path: str = "/worker/jobs",
        *,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        source_ip: str = "198.51.100.7",
    ) -> dict[str, Any]:
        all_headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "pytest"}
        all_headers.update(headers or {})
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:abc123/$default/{method}{raw_path}",
            "identitySource": [value for name, value in all_headers.items() if name in ("authorization", "x-api-key")],
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": all_headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": "pytest",
                },
                "requestId": "req-" + uuid.uuid4().hex[:8],
                "routeKey": route_key,
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
        }

    return build


@pytest.fixture
def http_event() -> Callable[..., dict[str, Any]]:
    """Build an API Gateway HTTP API event (payload 2.0) for the gateway's Lambda handler."""

    def build(
        method: str,
        raw_path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        source_ip: str = "198.51.100.7",
        route_key: str = "ANY /{proxy+}",
        authorizer_context: dict[str, Any] | None = None,
        query: str = "",
    ) -> dict[str, Any]:
        all_headers = {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            "x-forwarded-for": source_ip,
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
        }
        all_headers.update(headers or {})
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": all_headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": "pytest",
                },
                "requestId": "req-" + uuid.uuid4().hex[:8],
                "routeKey": route_key,
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
            "isBase64Encoded": False,
        }
        if authorizer_context is not None:
            event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
        if body is not None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
            all_headers["content-length"] = str(len(body))
        return event

    return build


def lambda_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


class TokenKit:
    """Token helpers for the tests (a fixture, since test modules cannot import the conftest)."""

    secret = TEST_SECRET
    issuer = ISSUER
    audience = AUDIENCE
    claims = staticmethod(claims_for)
    sign = staticmethod(sign)
    unsigned = staticmethod(unsigned)
    lambda_json = staticmethod(lambda_json)


@pytest.fixture
def kit() -> TokenKit:
    return TokenKit()
