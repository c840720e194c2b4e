"""stratus.events.samples: the sample events services' tests build their Lambda events from."""

from __future__ import annotations

import json

from stratus.events import samples
from tests.events import load_event


def test_the_authorizers_context_is_where_api_gateway_puts_it() -> None:
    # GIVEN the context a Lambda authorizer returned for the request
    context = {"principalId": "user:alice", "kind": "user", "subject": "alice", "scopes": ["profile"]}
    # WHEN the sample event is built with it
    event = samples.http(method="GET", path="/players/alice", authorizer=context)
    # THEN the integration receives it as requestContext.authorizer.lambda, as in AWS's own example event
    assert event["requestContext"]["authorizer"] == {"lambda": context}
    assert set(load_event("apiGatewayProxyV2Event.json")["requestContext"]["authorizer"]) >= {"lambda"}


def test_without_an_authorizer_the_event_has_none() -> None:
    assert "authorizer" not in samples.http(path="/health")["requestContext"]


def test_a_json_body_headers_and_a_query() -> None:
    # WHEN a POST is built with a JSON body, a header of its own and a query string
    event = samples.http(method="post", path="/jobs?dry=1", json={"type": "sum"}, headers=[("x-request-id", "r-1")])
    # THEN the body is the JSON text, sent as text with its Content-Type, and the rest is where AWS puts it
    assert json.loads(event["body"]) == {"type": "sum"} and event["isBase64Encoded"] is False
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-request-id"] == "r-1"
    assert (event["requestContext"]["http"]["method"], event["rawPath"]) == ("POST", "/jobs")
    assert event["queryStringParameters"] == {"dry": "1"}


def test_a_content_type_header_wins_over_the_default() -> None:
    event = samples.http(method="POST", path="/", body="a=1", headers=[("Content-Type", "text/plain")])
    assert event["headers"]["content-type"] == "text/plain" and event["body"] == "a=1"


def test_received_messages_become_the_batch_lambda_receives() -> None:
    # GIVEN a message as ReceiveMessage returns it, with an attribute
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": '{"job_id": "j-1"}',
        "MD5OfBody": "0" * 32,
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"trace": {"DataType": "String", "StringValue": "t-1"}},
    }
    # WHEN the event source mapping's batch is built for it
    event = samples.sqs_delivery([message], queue="jobs", region="eu-west-1")
    # THEN it has the record shape of AWS's example, for that queue
    (record,) = event["Records"]
    assert set(record) == set(load_event("sqsEvent.json")["Records"][0])
    assert (record["messageId"], record["body"], record["awsRegion"]) == ("m-1", '{"job_id": "j-1"}', "eu-west-1")
    assert record["eventSourceARN"].endswith(":jobs") and ":eu-west-1:" in record["eventSourceARN"]
    assert record["messageAttributes"]["trace"]["stringValue"] == "t-1"
