"""Fixtures of the text service's unit tests: an in-process moto AWS with the texts table, Bedrock stubbed at its
boundary, and callers signed in as the gateway's authorizer would say.

Who calls is what the authorizer put in ``requestContext.authorizer.lambda``; Mangum hands the event to the app as
``scope["aws.event"]``. :func:`stratus_common.testing.client_for` does the same for a TestClient;
``test_text_lambda.py`` goes through the real handler with full events (``stratus.events.samples.http``).

Bedrock is stubbed with botocore's ``Stubber`` on a real ``bedrock-runtime`` client, which the generator gets in
place of the process's (the ``get_generator`` dependency is overridden): requests and responses are checked against
the service's model, and nothing leaves the process.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from stratus_common import testing
from stratus_common.settings import get_settings
from text.generate import TextGenerator
from text.main import app, get_generator, get_text_store
from text.seed import forget_seeding
from text.store import TextStore, dynamodb_client

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fastapi.testclient import TestClient
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "acme-local-texts"
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
WRITE_SCOPES = ("profile", "texts:write")


def authorizer_context(subject: str = "u-1", *, scopes: Iterable[str] = WRITE_SCOPES) -> dict[str, Any]:
    """What the gateway's token authorizer returns for a person; *scopes* default to ``texts:write``."""
    return testing.authorizer_context(subject, scopes=scopes)


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the texts table, and what the app's DynamoDB client was asked to do."""

    dynamodb: DynamoDBClient
    table: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        """The names of the operations the app's DynamoDB client made, in order."""
        return [name for name, _ in self.calls]

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (a Scan by the test's own client, not the app's)."""
        return list(self.dynamodb.scan(TableName=self.table, ConsistentRead=True).get("Items", []))

    def item(self, text_id: str) -> dict[str, Any] | None:
        """The raw item of *text_id*."""
        return self.dynamodb.get_item(TableName=self.table, Key={"text_id": {"S": text_id}}, ConsistentRead=True).get(
            "Item"
        )

    def put(
        self, text_id: str, difficulty: str, content: str, *, random_key: str = "0.5", source: str = "user"
    ) -> None:
        """Put a text straight into the table."""
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "text_id": {"S": text_id},
                "difficulty": {"S": difficulty},
                "random_key": {"N": random_key},
                "content": {"S": content},
                "word_count": {"N": str(len(content.split()))},
                "source": {"S": source},
                "created_at": {"S": "2026-03-10T12:00:00.000Z"},
            },
        )


def create_texts_table(dynamodb: DynamoDBClient, name: str = TABLE) -> None:
    """The texts table as stratus.toml declares it: hash key text_id, index by-difficulty (difficulty, random_key)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "text_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "text_id", "AttributeType": "S"},
            {"AttributeName": "difficulty", "AttributeType": "S"},
            {"AttributeName": "random_key", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-difficulty",
                "KeySchema": [
                    {"AttributeName": "difficulty", "KeyType": "HASH"},
                    {"AttributeName": "random_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(scope="module")
def aws() -> Iterator[Cloud]:
    """moto's in-process AWS for a test module, with the variables the local cloud would set.

    One per module rather than per test: creating boto3 clients is most of a test's time, so the app's DynamoDB
    client lives as long as the module; :func:`cloud` gives each test an empty table. Every operation the app's
    DynamoDB client makes is recorded in ``Cloud.calls`` (name and parameters).
    """
    with pytest.MonkeyPatch.context() as patch, testing.clean_environment(patch):
        patch.setenv("TEXTS_TABLE_NAME", TABLE)
        patch.setenv("BEDROCK_MODEL_ID", MODEL_ID)
        with testing.mocked_aws(patch) as session:
            cloud = Cloud(dynamodb=session.client("dynamodb"), table=TABLE)

            def record(params: dict[str, Any], model: Any, **_: Any) -> None:
                cloud.calls.append((model.name, dict(params)))

            dynamodb_client().meta.events.register("before-parameter-build.dynamodb", record)
            yield cloud


@pytest.fixture(autouse=True)
def cloud(aws: Cloud) -> Iterator[Cloud]:
    """Each test starts with an empty texts table, no cached settings, no seeding and no dependency overrides."""
    create_texts_table(aws.dynamodb)
    aws.calls.clear()
    get_settings.cache_clear()
    forget_seeding()
    yield aws
    app.dependency_overrides.clear()
    get_settings.cache_clear()
    forget_seeding()
    with contextlib.suppress(aws.dynamodb.exceptions.ResourceNotFoundException):
        aws.dynamodb.delete_table(TableName=aws.table)


@pytest.fixture
def seeded_rng(cloud: Cloud) -> random.Random:
    """Make the app's random draws (and random keys) come from a seeded generator: reproducible draws."""
    rng = random.Random(20260310)
    app.dependency_overrides[get_text_store] = lambda: TextStore(dynamodb_client(), TABLE, rng=rng)
    return rng


@pytest.fixture(scope="module")
def bedrock_runtime() -> Any:
    """A real bedrock-runtime client (no credentials needed: every call of it is stubbed)."""
    return testing.shared_session().client("bedrock-runtime")


@pytest.fixture
def bedrock(bedrock_runtime: Any) -> Iterator[Stubber]:
    """A Stubber on the bedrock-runtime client the generator uses (through the ``get_generator`` dependency).

    Queue answers with ``bedrock.add_response("converse", ...)`` / ``add_client_error``; every queued answer must
    be used by the end of the test.
    """
    stubber = Stubber(bedrock_runtime)
    app.dependency_overrides[get_generator] = lambda: TextGenerator(bedrock=bedrock_runtime, model_id=MODEL_ID)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def converse_response(text: str, *, stop_reason: str = "end_turn") -> dict[str, Any]:
    """A Converse response as Bedrock sends it, with *text* as the assistant's message."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 112, "outputTokens": 64, "totalTokens": 176},
        "metrics": {"latencyMs": 842},
    }


@pytest.fixture
def converse() -> Callable[..., dict[str, Any]]:
    """:func:`converse_response`: ``converse("text", stop_reason="end_turn")``."""
    return converse_response


@pytest.fixture
def make_client() -> Callable[..., TestClient]:
    """A factory of TestClients of the app: ``make_client()`` anonymous, ``make_client(context)`` signed in."""
    return functools.partial(testing.client_for, app)


@pytest.fixture
def client() -> TestClient:
    """A TestClient of the app, with no caller (as a direct request without the authorizer)."""
    return testing.client_for(app)


@pytest.fixture
def writer() -> TestClient:
    """A TestClient of the app signed in with the scope ``texts:write``."""
    return testing.client_for(app, authorizer_context())


@pytest.fixture
def authorizer() -> Callable[..., dict[str, Any]]:
    """:func:`authorizer_context`: ``authorizer("u-1", scopes=[...])``."""
    return authorizer_context
