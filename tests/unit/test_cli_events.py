"""`stratus events`: sample events in the shapes the event adapters build (and AWS sends)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stratus.cli import app
from tests.events import load_event

runner = CliRunner()


def run(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["events", *args])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_http_sample_is_a_payload_2_0_event() -> None:
    event = run("http", "--method", "post", "--path", "/worker/jobs?a=1", "--body", '{"x": 1}')
    reference = load_event("apiGatewayProxyV2Event.json")
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/worker/jobs" and event["rawQueryString"] == "a=1"
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert set(event["requestContext"]) >= set(reference["requestContext"]) - {"authorizer", "authentication"}  # type: ignore[arg-type]


def test_sqs_sample_has_the_records_lambda_receives() -> None:
    event = run("sqs", "--body", "hi", "--count", "2")
    records = event["Records"]
    assert isinstance(records, list) and len(records) == 2
    assert set(records[0]) == set(load_event("sqsEvent.json")["Records"][0])
    assert records[0]["body"] == "hi"


@pytest.mark.parametrize(("kind", "key"), [("schedule", "detail-type"), ("s3", "Records")])
def test_schedule_and_s3_samples(kind: str, key: str) -> None:
    assert key in run(kind)
