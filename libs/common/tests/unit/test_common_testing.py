"""testing: what services' tests share, held to its word (the authorizer's shapes, a clean environment, moto)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from typing import Annotated, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fastapi import Depends, FastAPI
from stratus_common import aws, testing
from stratus_common.app import create_app
from stratus_common.principal import Principal, current_principal
from stratus_common.settings import get_settings


def _whoami_app() -> FastAPI:
    app = create_app("Who", service="who")

    @app.get("/whoami")
    def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
        return {
            "principal_id": principal.principal_id,
            "kind": principal.kind,
            "subject": principal.subject,
            "scopes": sorted(principal.scopes),
            "username": principal.username,
        }

    return app


@pytest.mark.parametrize(
    ("caller", "kind", "expected"),
    [
        ("alice", "user", {"principal_id": "user:alice", "kind": "user", "subject": "alice", "username": "alice-name"}),
        ("job", "client", {"principal_id": "client:job", "kind": "client", "subject": "job", "username": None}),
        ("k1", "api_key", {"principal_id": "key:k1", "kind": "api_key", "subject": "k1", "username": None}),
    ],
)
def test_a_signed_in_client_is_the_principal_the_app_sees(caller: str, kind: str, expected: dict[str, Any]) -> None:
    # GIVEN a TestClient signed in as a person, a machine client or an API key
    client = testing.client_for(_whoami_app(), caller, kind=kind)
    # WHEN the app asks who calls THEN stratus_common.principal reads what the gateway's authorizer would have said
    assert client.get("/whoami").json() == {**expected, "scopes": ["profile"]}


def test_a_whole_context_and_no_caller() -> None:
    app = _whoami_app()
    context = testing.authorizer_context("bob", scopes=["texts:write", "profile"])
    assert testing.client_for(app, context).get("/whoami").json()["scopes"] == ["profile", "texts:write"]
    assert testing.client_for(app).get("/whoami").status_code == 401  # through no authorizer


def test_the_authorizer_event_is_where_api_gateway_puts_the_context() -> None:
    context = testing.authorizer_context("alice")
    assert testing.authorizer_event(context) == {"requestContext": {"authorizer": {"lambda": context}}}


def test_a_clean_environment_and_its_undoing(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a shell with endpoints, resource variables and a profile
    for name, value in {
        "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566",
        "JOBS_QUEUE_URL": "http://queue",
        "PLAYERS_TABLE_NAME": "players",
        "AWS_PROFILE": "prod",
        "STRATUS_BASE_PATH": "/x",
    }.items():
        monkeypatch.setenv(name, value)
    # WHEN the environment is cleaned
    with pytest.MonkeyPatch.context() as patch, testing.clean_environment(patch):
        # THEN none of it is left, the credentials are fake and the settings are read again
        left = {"AWS_ENDPOINT_URL_SQS", "JOBS_QUEUE_URL", "PLAYERS_TABLE_NAME", "AWS_PROFILE", "STRATUS_BASE_PATH"}
        assert left.isdisjoint(os.environ)
        assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"]) == ("test", testing.REGION)
        assert get_settings().base_path == "/"
    # AND once undone, the shell's variables are back
    assert (os.environ["JOBS_QUEUE_URL"], os.environ["AWS_PROFILE"]) == ("http://queue", "prod")


def test_the_service_and_the_test_share_moto_and_one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN moto, and a queue the test made with the yielded session
    with testing.mocked_aws(monkeypatch) as session:
        url = session.client("sqs").create_queue(QueueName="shared")["QueueUrl"]
        # WHEN the service's own client lists the queues THEN it sees it, and comes from the same session
        assert aws.client("sqs").list_queues()["QueueUrls"] == [url]
        assert aws.session() is session is testing.shared_session()


def test_serialised_moto_dynamodb_lets_one_of_racing_conditional_writes_win(tables: Any) -> None:
    # GIVEN moto's DynamoDB serialised, and 16 threads putting the same new item on the condition it does not exist
    with pytest.MonkeyPatch.context() as patch:
        testing.serialise_moto_dynamodb(patch)
        outcomes: list[str] = []
        start = threading.Barrier(16)

        def put() -> None:
            start.wait()
            try:
                tables.dynamodb.put_item(
                    TableName=tables.names["sessions"],
                    Item={"session_id": {"S": "race"}},
                    ConditionExpression="attribute_not_exists(session_id)",
                )
                outcomes.append("won")
            except ClientError:
                outcomes.append("refused")

        threads = [threading.Thread(target=put) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # THEN exactly one wins
    assert sorted(outcomes) == ["refused"] * 15 + ["won"]


def test_a_moto_server_in_a_subprocess() -> None:
    # WHEN a moto server is started THEN it answers at the URL, and is gone after the block
    with testing.moto_server() as url:
        sqs = boto3.session.Session(region_name=testing.REGION).client("sqs", endpoint_url=url)
        assert sqs.create_queue(QueueName="on-the-server")["QueueUrl"].endswith("/on-the-server")
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)


def test_importing_the_new_helpers_imports_nothing_heavy() -> None:
    # aws_errors, dynamo and times are imported by services at module level (their cold start) and by SQS consumers,
    # testing by every test run: none may load an SDK, a web framework or a test tool
    code = (
        "import sys, stratus_common.aws_errors, stratus_common.dynamo, stratus_common.times, stratus_common.testing\n"
        "heavy = ('boto3', 'botocore', 'moto', 'fastapi', 'starlette', 'pydantic', 'httpx', 'pytest')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
