"""client()/resource(): cached boto3 clients whose endpoints come from AWS_ENDPOINT_URL(_<SERVICE>).

The endpoint tests run a real moto server on a free local port and show the calls land there.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from stratus_common import aws

if TYPE_CHECKING:
    from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port, shared by this module's tests; yields its URL."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_PROFILE", raising=False)  # moto's server fails on a profile that does not exist
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def _queues_on(url: str) -> list[str]:
    """List the queues on the server at *url*, with a client that does not come from stratus_common."""
    direct = boto3.client("sqs", endpoint_url=url, region_name="us-east-1")
    return direct.list_queues().get("QueueUrls", [])


def test_aws_endpoint_url_sends_calls_to_that_endpoint(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AWS_ENDPOINT_URL pointing to a moto server
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    # WHEN a queue is created and listed through stratus_common's client
    sqs = aws.client("sqs")
    created = sqs.create_queue(QueueName="endpoint-global")["QueueUrl"]
    listed = sqs.list_queues()["QueueUrls"]
    # THEN the calls went to the server: the queue is there, seen by an independent client too
    assert sqs.meta.endpoint_url == moto_url
    assert created in listed
    assert created.endswith("/endpoint-global")
    assert created in _queues_on(moto_url)


def test_the_per_service_variable_wins_over_the_global_one(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AWS_ENDPOINT_URL pointing to a dead port, and AWS_ENDPOINT_URL_SQS to the moto server
    dead = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_url)
    # WHEN a queue is created and listed through the SQS client
    sqs = aws.client("sqs")
    created = sqs.create_queue(QueueName="endpoint-sqs")["QueueUrl"]
    # THEN SQS calls reached the server, while other services still use the global (dead) endpoint
    assert sqs.meta.endpoint_url == moto_url
    assert created in sqs.list_queues()["QueueUrls"]
    assert created in _queues_on(moto_url)
    assert aws.client("dynamodb").meta.endpoint_url == dead


def test_resources_honour_the_endpoint_too(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AWS_ENDPOINT_URL_DYNAMODB pointing to the moto server
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_url)
    dynamodb = aws.resource("dynamodb")
    # WHEN a table is created through the resource
    table = dynamodb.create_table(
        TableName="endpoint-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.put_item(Item={"id": "1"})
    # THEN the server has it
    direct = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    assert "endpoint-table" in direct.list_tables()["TableNames"]
    assert direct.get_item(TableName="endpoint-table", Key={"id": {"S": "1"}})["Item"] == {"id": {"S": "1"}}


def test_clients_are_cached_until_reset() -> None:
    # GIVEN a client already made
    first = aws.client("sqs")
    # WHEN the same client is asked for again, with other arguments, and after a reset
    again = aws.client("sqs")
    other_region = aws.client("sqs", region_name="eu-west-1")
    aws.reset_clients()
    fresh = aws.client("sqs")
    # THEN the same arguments give the same client, until the reset
    assert again is first
    assert other_region is not first
    assert other_region.meta.region_name == "eu-west-1"
    assert fresh is not first


def test_region_comes_from_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AWS_REGION (what Lambda and the local cloud set) different from AWS_DEFAULT_REGION
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    # WHEN a client is made
    # THEN it is in AWS_REGION
    assert aws.client("dynamodb").meta.region_name == "eu-central-1"


def test_clients_have_timeouts_and_standard_retries() -> None:
    # GIVEN a client made with default settings, and one with its own read timeout
    default = aws.client("sqs").meta.config
    custom = aws.client("s3", config=Config(read_timeout=2)).meta.config
    # WHEN their configuration is read
    # THEN they have bounded timeouts and the "standard" retry mode, the custom one merged over the defaults
    assert (default.connect_timeout, default.read_timeout) == (5, 30)
    assert default.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (custom.connect_timeout, custom.read_timeout) == (5, 2)
    assert custom.retries == {"mode": "standard", "total_max_attempts": 3}


def test_no_endpoint_variable_means_the_real_aws_endpoint() -> None:
    # GIVEN no endpoint variables (the fixture removes them)
    # WHEN a client is made
    # THEN it targets AWS
    assert aws.client("sqs").meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"


def test_the_fast_config_has_short_timeouts_and_the_same_retries() -> None:
    # GIVEN a client for a request's critical path (the gateway's authorizer, the token secret's read)
    fast = aws.client("dynamodb", config=aws.FAST_CONFIG)
    # THEN it connects within 2 s and reads within 5 s, with the default retries, and is cached like any other
    assert (fast.meta.config.connect_timeout, fast.meta.config.read_timeout) == (2, 5)
    assert fast.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert fast.meta.config.tcp_keepalive is True
    assert aws.client("dynamodb", config=aws.FAST_CONFIG) is fast
    assert aws.client("dynamodb") is not fast


def test_the_first_client_does_not_import_pydantic() -> None:
    # GIVEN a fresh interpreter (the gateway's authorizer, which must not pay for pydantic-settings)
    code = "import sys, stratus_common.aws as aws; aws.client('sqs'); print('pydantic' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-1"}
    # WHEN it makes a client
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # THEN the region came from the environment without the settings
    assert output.stdout.strip() == "False"
