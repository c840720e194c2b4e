"""Fixtures of the api service's unit tests: a clean environment, an in-process moto AWS with the users and
user-emails tables and the cursor-signing secret (or the local cloud's moto server, for the concurrency tests),
and a TestClient. The environment, moto and the clients come from :mod:`stratus_common.testing`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common import testing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fastapi.testclient import TestClient
    from mypy_boto3_dynamodb import DynamoDBClient

USERS_TABLE = "acme-local-users"
EMAILS_TABLE = "acme-local-user-emails"
SECRET_NAME = "acme-local-cursor-signing"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, and nothing cached."""
    with testing.clean_environment(monkeypatch):
        yield


def create_tables(dynamodb: DynamoDBClient, users_table: str = USERS_TABLE, emails_table: str = EMAILS_TABLE) -> None:
    """Create the two tables as stratus.toml declares them: users (hash user_id, GSI by-email), user-emails."""
    dynamodb.create_table(
        TableName=users_table,
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "email", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName=emails_table,
        KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the two tables, and a client to inspect them."""

    dynamodb: DynamoDBClient
    users_table: str = USERS_TABLE
    emails_table: str = EMAILS_TABLE

    def user_item(self, user_id: str) -> dict[str, Any] | None:
        """The raw item of a user."""
        return self.dynamodb.get_item(
            TableName=self.users_table, Key={"user_id": {"S": user_id}}, ConsistentRead=True
        ).get("Item")

    def email_owner(self, email: str) -> str | None:
        """The user_id of the user-emails item of *email*, or ``None`` if there is none."""
        item = self.dynamodb.get_item(
            TableName=self.emails_table, Key={"email": {"S": email}}, ConsistentRead=True
        ).get("Item")
        return item["user_id"]["S"] if item else None

    def email_items(self) -> list[dict[str, Any]]:
        """Every item of the user-emails table."""
        return list(self.dynamodb.scan(TableName=self.emails_table, ConsistentRead=True)["Items"])


def point_at_cloud(monkeypatch: pytest.MonkeyPatch, secret_arn: str, **tables: str) -> None:
    """Set the variables the local cloud and Terraform give the api service."""
    monkeypatch.setenv("USERS_TABLE_NAME", tables.get("users", USERS_TABLE))
    monkeypatch.setenv("USER_EMAILS_TABLE_NAME", tables.get("emails", EMAILS_TABLE))
    monkeypatch.setenv("CURSOR_SIGNING_SECRET_ARN", secret_arn)
    testing.forget_caches()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with both tables and the cursor-signing secret; the service's variables set."""
    with testing.mocked_aws(monkeypatch) as session:
        dynamodb = session.client("dynamodb")
        create_tables(dynamodb)
        arn = session.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString="k" * 64)["ARN"]
        point_at_cloud(monkeypatch, arn)
        yield Cloud(dynamodb=dynamodb)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The local cloud's moto server (DynamoDB actions atomic, as in AWS), in a subprocess: moto's in-process mock
    does not make conditions atomic across threads."""
    with testing.moto_server("stratus.local.aws_server") as url:
        yield url


@pytest.fixture
def server_cloud(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """Fresh tables and a secret on the moto server; the app pointed at it (``AWS_ENDPOINT_URL``)."""
    suffix = time.time_ns()
    users, emails = f"users-{suffix}", f"user-emails-{suffix}"
    session = testing.shared_session()
    dynamodb = session.client("dynamodb", endpoint_url=moto_server)
    create_tables(dynamodb, users, emails)
    arn = session.client("secretsmanager", endpoint_url=moto_server).create_secret(
        Name=f"cursor-signing-{suffix}", SecretString="k" * 64
    )["ARN"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    point_at_cloud(monkeypatch, arn, users=users, emails=emails)
    return Cloud(dynamodb=dynamodb, users_table=users, emails_table=emails)


@pytest.fixture
def client(cloud: Cloud) -> TestClient:
    """A TestClient of the api app, on the moto cloud."""
    from api.main import app

    return testing.client_for(app)


@pytest.fixture
def make_client() -> Callable[[], TestClient]:
    """A factory of TestClients of the api app (for tests that bring their own AWS)."""

    def build() -> TestClient:
        from api.main import app

        return testing.client_for(app)

    return build
