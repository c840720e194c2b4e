"""The local cloud's Bedrock Runtime: Converse and InvokeModel as botocore sends and parses them, answered offline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import pytest
from botocore.exceptions import ClientError

from stratus.local import bedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def runtime() -> Iterator[object]:
    """A real socket serving the middleware in front of an app that answers 418 to everything else."""

    def other(environ, start_response):
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"not bedrock"]

    server = make_server("127.0.0.1", 0, bedrock.middleware(other), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    server.shutdown()
    server.server_close()


def converse(client, text: str, max_tokens: int = 400) -> dict:
    return client.converse(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": max_tokens},
    )


def test_converse_answers_in_aws_shape_and_the_same_prompt_gets_the_same_text(runtime) -> None:
    first, again, other = converse(runtime, "a text"), converse(runtime, "a text"), converse(runtime, "another")
    text = first["output"]["message"]["content"][0]["text"]
    assert first["output"]["message"]["role"] == "assistant"
    assert first["stopReason"] == "end_turn"
    assert first["usage"]["totalTokens"] == first["usage"]["inputTokens"] + first["usage"]["outputTokens"]
    assert 40 <= len(text.split()) <= bedrock.MAX_WORDS
    assert text[0].isupper() and text.endswith(".")
    assert again["output"]["message"]["content"][0]["text"] == text
    assert other["output"]["message"]["content"][0]["text"] != text


def test_max_tokens_bounds_the_text_and_says_it_stopped_there(runtime) -> None:
    answer = converse(runtime, "a text", max_tokens=8)
    assert answer["stopReason"] == "max_tokens"
    assert len(answer["output"]["message"]["content"][0]["text"].split()) <= 6


def test_invoke_model_with_an_anthropic_body_answers_the_messages_api_shape(runtime) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "hi"}],
    }
    answer = json.loads(runtime.invoke_model(modelId=MODEL, body=json.dumps(body))["body"].read())
    assert answer["type"] == "message" and answer["model"] == MODEL
    assert answer["content"][0]["type"] == "text" and answer["content"][0]["text"]
    assert answer["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.converse(modelId=MODEL, messages=[]),
        lambda c: c.invoke_model(modelId=MODEL, body=json.dumps({"inputText": "titan shape"})),
        lambda c: c.invoke_model(modelId=MODEL, body=b"not json"),
    ],
)
def test_a_malformed_request_is_a_validation_exception(runtime, call) -> None:
    with pytest.raises(ClientError) as caught:
        call(runtime)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_other_requests_reach_the_wrapped_app() -> None:
    seen = []

    def other(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    app = bedrock.middleware(other)
    app({"PATH_INFO": "/model/x.y/converse", "REQUEST_METHOD": "GET"}, lambda *a: None)
    app({"PATH_INFO": "/", "REQUEST_METHOD": "POST"}, lambda *a: None)
    assert seen == ["/model/x.y/converse", "/"]
