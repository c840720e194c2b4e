"""POST /generate: a text from the Bedrock model, with Bedrock stubbed at its boundary (botocore's Stubber)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY
from text.generate import STYLES, TOPICS, TextGenerator, bedrock_client
from text.main import app, get_generator

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.stub import Stubber
    from fastapi.testclient import TestClient

    from .conftest import Cloud

    Converse = Callable[..., dict[str, Any]]

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
PASSAGE = (
    "The harbour was quiet before sunrise. Gulls circled above the fishing boats, and the smell of salt hung in "
    "the cold air. One by one, the lights of the town came on."
)


def _expected_request(difficulty: str) -> dict[str, Any]:
    return {
        "modelId": MODEL_ID,
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": STYLES[difficulty].max_tokens, "temperature": 0.9},  # type: ignore[index]
    }


def test_a_generated_text_is_cleaned_stored_and_returned(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient
) -> None:
    # GIVEN the model answers with a preamble, a bold title and the passage in quotes
    raw = f'Here is a medium passage about the harbour:\n\n**Dawn**\n\n"{PASSAGE}"'
    bedrock.add_response("converse", converse(raw), _expected_request("medium"))
    # WHEN a writer asks for a medium text about the harbour
    response = writer.post("/generate", json={"difficulty": "medium", "topic": "  a harbour \n at dawn "})
    # THEN the cleaned passage is stored as generated, with its model and topic, and returned with a Location
    assert response.status_code == 201
    body = response.json()
    assert body["content"] == PASSAGE
    assert (body["difficulty"], body["source"], body["word_count"]) == ("medium", "generated", len(PASSAGE.split()))
    assert body["text_id"].startswith("generated-")
    assert response.headers["location"] == f"/{body['text_id']}"
    item = cloud.item(body["text_id"])
    assert item is not None
    assert item["model_id"] == {"S": MODEL_ID}
    assert item["topic"] == {"S": "a harbour at dawn"}
    assert item["created_by"] == {"S": "user:u-1"}
    assert writer.get(f"/{body['text_id']}").json() == body


def test_the_prompt_carries_the_difficulty_and_the_topic(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient
) -> None:
    seen: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    bedrock.client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", capture)
    try:
        bedrock.add_response("converse", converse(PASSAGE), _expected_request("hard"))
        assert writer.post("/generate", json={"difficulty": "hard", "topic": "lighthouses"}).status_code == 201
    finally:
        bedrock.client.meta.events.unregister("before-parameter-build.bedrock-runtime.Converse", capture)
    prompt = seen[0]["messages"][0]["content"][0]["text"]
    assert "Difficulty: hard" in prompt
    assert "<topic>lighthouses</topic>" in prompt


def test_without_a_topic_one_is_picked_and_each_prompt_differs(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient
) -> None:
    seen: list[str] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(params["messages"][0]["content"][0]["text"])

    bedrock.client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", capture)
    try:
        created = []
        for _ in range(2):
            bedrock.add_response("converse", converse(PASSAGE), _expected_request("easy"))
            created.append(writer.post("/generate", json={"difficulty": "easy", "topic": " "}).json())
    finally:
        bedrock.client.meta.events.unregister("before-parameter-build.bedrock-runtime.Converse", capture)
    # THEN each prompt names a built-in topic and a variation, so no two prompts are the same
    assert seen[0] != seen[1]
    for prompt, text in zip(seen, created, strict=True):
        item = cloud.item(text["text_id"])
        assert item is not None
        assert item["topic"]["S"] in TOPICS
        assert f"<topic>{item['topic']['S']}</topic>" in prompt
        assert "This is request " in prompt


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [("ThrottlingException", 429), ("ServiceQuotaExceededException", 400)],
)
def test_a_throttled_model_is_a_429_with_retry_after(
    cloud: Cloud, bedrock: Stubber, writer: TestClient, error_code: str, http_status: int
) -> None:
    bedrock.add_client_error("converse", service_error_code=error_code, http_status_code=http_status)
    response = writer.post("/generate", json={"difficulty": "easy"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "10"
    assert response.json()["error"]["code"] == "generation_throttled"
    assert cloud.items() == []


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [
        ("ModelTimeoutException", 408),
        ("ServiceUnavailableException", 503),
        ("ModelNotReadyException", 429),
        ("InternalServerException", 500),
    ],
)
def test_a_busy_model_is_a_503_with_retry_after(
    cloud: Cloud, bedrock: Stubber, writer: TestClient, error_code: str, http_status: int
) -> None:
    bedrock.add_client_error(
        "converse", service_error_code=error_code, service_message="internal detail", http_status_code=http_status
    )
    response = writer.post("/generate", json={"difficulty": "hard"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "generation_busy"
    assert "internal detail" not in response.text


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [("AccessDeniedException", 403), ("ValidationException", 400), ("ResourceNotFoundException", 404)],
)
def test_a_model_that_cannot_serve_is_a_503_unavailable_without_details(
    cloud: Cloud, bedrock: Stubber, writer: TestClient, error_code: str, http_status: int
) -> None:
    bedrock.add_client_error(
        "converse",
        service_error_code=error_code,
        service_message=f"User arn:aws:iam::123456789012:role/text is not authorized ({error_code})",
        http_status_code=http_status,
    )
    response = writer.post("/generate", json={"difficulty": "medium"})
    assert response.status_code == 503
    assert "retry-after" not in response.headers
    assert response.json() == {"error": {"code": "generation_unavailable", "message": "Text generation is unavailable"}}


def test_a_model_error_is_a_502(cloud: Cloud, bedrock: Stubber, writer: TestClient) -> None:
    bedrock.add_client_error("converse", service_error_code="ModelErrorException", http_status_code=424)
    response = writer.post("/generate", json={"difficulty": "medium"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "generation_failed"


@pytest.mark.parametrize(
    ("raw", "stop_reason"),
    [
        ("Sure!", "end_turn"),
        ("\U0001f600 \U0001f389 \U0001f98a", "end_turn"),
        ("```\n```", "end_turn"),
        ("The harbour was quiet before sunrise and the gulls circled above the boats while the", "max_tokens"),
    ],
)
def test_output_too_short_once_cleaned_is_a_502(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient, raw: str, stop_reason: str
) -> None:
    bedrock.add_response("converse", converse(raw, stop_reason=stop_reason))
    response = writer.post("/generate", json={"difficulty": "easy"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "generation_failed"
    assert "shorter than 20 characters" in error["message"]
    assert cloud.items() == []


@pytest.mark.parametrize("stop_reason", ["content_filtered", "guardrail_intervened"])
def test_a_refusal_is_a_502(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient, stop_reason: str
) -> None:
    bedrock.add_response("converse", converse(PASSAGE, stop_reason=stop_reason))
    response = writer.post("/generate", json={"difficulty": "easy", "topic": "something dark"})
    assert response.status_code == 502
    assert response.json()["error"]["message"] == "The model declined to write this text; try another topic"


def test_a_truncated_output_keeps_its_whole_sentences(
    cloud: Cloud, bedrock: Stubber, converse: Converse, writer: TestClient
) -> None:
    bedrock.add_response("converse", converse(PASSAGE + " Then a bell rang out across the", stop_reason="max_tokens"))
    response = writer.post("/generate", json={"difficulty": "medium"})
    assert response.status_code == 201
    assert response.json()["content"] == PASSAGE


def test_generating_needs_a_caller(cloud: Cloud, bedrock: Stubber, client: TestClient) -> None:
    # No answer is queued: the model is never called. (The scope texts:write is the authorizer's: stratus.toml.)
    assert client.post("/generate", json={"difficulty": "easy"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.difficulty"),
        ({"difficulty": "legendary"}, "body.difficulty"),
        ({"difficulty": "easy", "topic": "t" * 101}, "body.topic"),
        ({"difficulty": "easy", "topic": "bell\x07"}, "body.topic"),
        ({"difficulty": "easy", "topic": 7}, "body.topic"),
        ({"difficulty": "easy", "model": "anthropic.claude-v2"}, "body.model"),
    ],
)
def test_a_malformed_request_is_a_422_and_the_model_is_not_called(
    cloud: Cloud, bedrock: Stubber, writer: TestClient, body: dict[str, Any], field: str
) -> None:
    response = writer.post("/generate", json=body)
    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


def test_without_a_model_id_generation_is_unavailable(
    cloud: Cloud, writer: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BEDROCK_MODEL_ID")
    response = writer.post("/generate", json={"difficulty": "easy"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "generation_unavailable"


def test_a_timeout_is_a_503_with_retry_after(cloud: Cloud, writer: TestClient) -> None:
    class TimesOut:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse")

    app.dependency_overrides[get_generator] = lambda: TextGenerator(bedrock=TimesOut(), model_id=MODEL_ID)
    response = writer.post("/generate", json={"difficulty": "easy"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_the_default_client_has_bounded_timeouts_and_retries(cloud: Cloud) -> None:
    # The process's bedrock-runtime client: 2 s to connect, 10 s to read, 2 attempts in standard mode
    client: Any = bedrock_client()
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert client.meta.service_model.service_name == "bedrock-runtime"
    assert bedrock_client() is client  # created once per process
