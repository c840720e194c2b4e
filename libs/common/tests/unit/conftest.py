"""Fixtures of the stratus_common unit tests: a clean AWS environment, HTTP API 2.0 events, tokens, tables,
Secrets Manager (moto, with a count of the GetSecretValue calls) and a clock the secrets' TTLs are measured with."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from moto import mock_aws
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common import secrets, tokens
from stratus_common.aws import reset_clients, session
from stratus_common.settings import get_settings

with warnings.catch_warnings():
    # starlette >= 1.x warns, on import, that its TestClient wants `httpx2` rather than `httpx`.
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from starlette.types import ASGIApp

_VARIABLES = (
    "STRATUS_SERVICE",
    "SERVICE_NAME",
    "STRATUS_PROJECT",
    "STRATUS_ENV",
    "ENVIRONMENT",
    "STRATUS_BASE_PATH",
    "SERVICE_VERSION",
    "LOG_LEVEL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_SESSION_TOKEN",
    "STRATUS_SECRETS_MAX_AGE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no cached settings or clients."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "TOKEN_")) or name.endswith(
            ("_QUEUE_URL", "_DLQ_URL", "_TABLE_NAME", "_BUCKET_NAME", "_DATABASE_URL", "_SECRET_ARN")
        ):
            monkeypatch.delenv(name)
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    get_settings.cache_clear()
    reset_clients()
    tokens.reset_keys()
    yield
    get_settings.cache_clear()
    reset_clients()
    tokens.reset_keys()


HttpEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def http_event() -> HttpEvent:
    """Build an API Gateway HTTP API event, payload format 2.0, as API Gateway sends it to a Lambda."""

    def build(
        method: str,
        raw_path: str,
        *,
        route_key: str | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        all_headers = {
            "accept": "*/*",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            "x-amzn-trace-id": "Root=1-65f0a0a0-0123456789abcdef01234567",
            "x-forwarded-for": "192.0.2.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **(headers or {}),
        }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key or f"ANY {raw_path}",
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
                    "sourceIp": "192.0.2.10",
                    "userAgent": "pytest",
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": route_key or f"ANY {raw_path}",
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("content-type", "application/json")
            all_headers["content-length"] = str(len(raw))
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        return event

    return build


@pytest.fixture
def make_client() -> Callable[[ASGIApp], TestClient]:
    """Return a factory of TestClients (imported here, away from starlette's import-time warning)."""

    def build(app: ASGIApp) -> TestClient:
        return TestClient(app)

    return build


# ------------------------------------------------------------------------------------------- tokens

TEST_SECRET = "common-unit-test-signing-secret-0123456789"


class TokenKit:
    """The test environment's signing secret, issuer and audience, and tokens made by hand from them."""

    secret = TEST_SECRET
    issuer = "urn:stratus:stratus:test:idp"
    audience = "urn:stratus:stratus:test:api"

    def claims(self, subject: str, session_id: str, **overrides: Any) -> dict[str, Any]:
        """Valid claims for *subject* in *session_id*; an override of ``None`` removes the claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "kind": "user",
            "scope": "profile",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], *, secret: str = TEST_SECRET, headers: dict[str, Any] | None = None) -> str:
        """HS256, header ``typ`` at+jwt and the ``kid`` of the secret, unless *headers* say otherwise."""
        return jwt.encode(
            claims, secret, algorithm="HS256", headers={"typ": "at+jwt", "kid": self.kid(), **(headers or {})}
        )

    def unsigned(self, claims: dict[str, Any], header: dict[str, Any]) -> str:
        """A token with whatever header and no signature (``alg: none`` attacks)."""
        encoded = [
            base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode() for part in (header, claims)
        ]
        return ".".join(encoded) + "."

    def kid(self, secret: str = TEST_SECRET) -> str:
        return tokens.key_id(secret.encode())


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> TokenKit:
    """The signing secret in TOKEN_SIGNING_SECRET, environment "test" (so issuer and audience are the kit's)."""
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", TEST_SECRET)
    monkeypatch.setenv("STRATUS_ENV", "test")
    tokens.reset_keys()
    return TokenKit()


# ------------------------------------------------------------------------------------------- tables


@dataclass
class Tables:
    """moto's in-process DynamoDB with the sessions and api_keys tables, and a client to look inside."""

    dynamodb: DynamoDBClient
    names: dict[str, str]

    def items(self, table: str) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.names[table])["Items"])


@pytest.fixture
def tables() -> Iterator[Tables]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        names = {}
        for table, key in {"sessions": "session_id", "api_keys": "key_id"}.items():
            names[table] = f"test-{table}"
            dynamodb.create_table(
                TableName=names[table],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield Tables(dynamodb=dynamodb, names=names)


# ------------------------------------------------------------------------------------------- secrets


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock of stratus_common.secrets (the secrets' TTLs, the tokens' refetch interval), driven by the test."""
    fake = FakeClock()
    monkeypatch.setattr(secrets, "clock", fake)
    return fake


@dataclass
class SecretsManager:
    """moto's Secrets Manager, and the GetSecretValue calls stratus_common made, as (SecretId, VersionStage)."""

    client: Any
    calls: list[tuple[str, str | None]]

    def create(self, name: str, value: str) -> str:
        return str(self.client.create_secret(Name=name, SecretString=value)["ARN"])

    def rotate(self, arn: str, value: str) -> None:
        """What a rotation does: the new value becomes AWSCURRENT, the old one AWSPREVIOUS."""
        self.client.put_secret_value(SecretId=arn, SecretString=value)

    def reads(self, stage: str | None = None) -> int:
        return sum(1 for _, called_stage in self.calls if stage is None or called_stage == stage)


@pytest.fixture
def secrets_manager() -> Iterator[SecretsManager]:
    with mock_aws():
        calls: list[tuple[str, str | None]] = []

        def count(params: dict[str, Any], **_: Any) -> None:
            calls.append((params["SecretId"], params.get("VersionStage")))

        # on stratus_common's session, before its client exists: the tests' own client is not counted
        session().events.register("before-parameter-build.secrets-manager.GetSecretValue", count)
        yield SecretsManager(client=boto3.client("secretsmanager", region_name="us-east-1"), calls=calls)
