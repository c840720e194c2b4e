"""The text app through a TestClient: its root, probes, reading texts and writing them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from text.main import app, get_text_store
from text.seed import SEED_TEXTS

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from .conftest import Cloud

CONTENT = "Pack my box with five dozen liquor jugs, then rest a while."


def _fields(response: Any) -> list[str]:
    return [detail["field"] for detail in response.json()["error"]["details"]]


# --- the root and the probes ----------------------------------------------------------------------------------------


def test_the_root_says_what_the_service_is(client: TestClient) -> None:
    # WHEN / is requested
    response = client.get("/")
    # THEN the service names itself
    assert response.status_code == 200
    assert response.json()["service"] == "text"


def test_health_reports_healthy(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"]) == ("healthy", "text")


def test_readiness_needs_the_table(cloud: Cloud, client: TestClient) -> None:
    assert client.get("/liveness").json() == {"status": "alive"}
    assert client.get("/readiness").json() == {"status": "ready"}
    # GIVEN the table is gone
    cloud.dynamodb.delete_table(TableName=cloud.table)
    # THEN the service is not ready
    response = client.get("/readiness")
    assert response.status_code == 503
    assert "texts_table" in response.json()["checks"]


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


# --- GET /random and GET /{text_id} ---------------------------------------------------------------------------------


def test_a_random_text_of_a_fresh_table_is_a_seed(cloud: Cloud, client: TestClient) -> None:
    # GIVEN an empty table (a fresh deploy)
    # WHEN a random easy text is asked for
    response = client.get("/random", params={"difficulty": "easy"})
    # THEN the easy seeds are put, and one of them is the answer
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"text_id", "difficulty", "content", "word_count", "source", "created_at"}
    assert body["difficulty"] == "easy"
    assert body["source"] == "seed"
    assert body["content"] in SEED_TEXTS["easy"]
    assert body["word_count"] == len(body["content"].split())
    assert body["text_id"].startswith("seed-easy-")
    stored = {item["text_id"]["S"] for item in cloud.items()}
    assert stored == {f"seed-easy-{number:02d}" for number in range(1, 11)}  # only the difficulty asked for


def test_a_random_text_is_never_of_another_difficulty(cloud: Cloud, client: TestClient) -> None:
    # GIVEN one text of each difficulty besides the seeds
    cloud.put("mine-hard", "hard", "A hard text, with: punctuation; and 42 numbers.", random_key="0.999")
    for _ in range(5):
        body = client.get("/random", params={"difficulty": "medium"}).json()
        assert body["difficulty"] == "medium"


def test_a_difficulty_with_texts_is_not_seeded(cloud: Cloud, client: TestClient) -> None:
    # GIVEN the only medium text is one a player wrote
    cloud.put("user-1", "medium", CONTENT)
    # WHEN random medium texts are drawn
    for _ in range(3):
        assert client.get("/random", params={"difficulty": "medium"}).json()["text_id"] == "user-1"
    # THEN nothing was seeded
    assert [item["text_id"]["S"] for item in cloud.items()] == ["user-1"]


@pytest.mark.parametrize("query", [{}, {"difficulty": "expert"}, {"difficulty": ""}, {"difficulty": "EASY"}])
def test_an_unknown_difficulty_is_a_422_naming_it(cloud: Cloud, client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/random", params=query)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert _fields(response) == ["query.difficulty"]


def test_a_difficulty_emptied_after_seeding_is_a_404(cloud: Cloud, client: TestClient) -> None:
    # GIVEN the hard seeds were put, then every hard text deleted
    assert client.get("/random", params={"difficulty": "hard"}).status_code == 200
    for item in cloud.items():
        cloud.dynamodb.delete_item(TableName=cloud.table, Key={"text_id": item["text_id"]})
    # WHEN a random hard text is asked for by the same environment
    response = client.get("/random", params={"difficulty": "hard"})
    # THEN there is none (an environment seeds once)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "There is no hard text"}


def test_a_text_by_its_id(cloud: Cloud, client: TestClient) -> None:
    cloud.put("user-abc", "easy", CONTENT)
    response = client.get("/user-abc")
    assert response.status_code == 200
    assert response.json() == {
        "text_id": "user-abc",
        "difficulty": "easy",
        "content": CONTENT,
        "word_count": 12,
        "source": "user",
        "created_at": "2026-03-10T12:00:00.000Z",
    }


def test_a_missing_text_is_a_404(cloud: Cloud, client: TestClient) -> None:
    response = client.get("/user-nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_seed_id_is_found_before_any_draw(cloud: Cloud, client: TestClient) -> None:
    # GIVEN an empty table: WHEN a seed is read by its id, THEN its difficulty is seeded and it is there
    response = client.get("/seed-hard-03")
    assert response.status_code == 200
    assert response.json()["content"] == SEED_TEXTS["hard"][2]
    assert client.get("/seed-hard-11").status_code == 404  # not a seed: no seeding, no text


@pytest.mark.parametrize(
    "text_id",
    ["-leading-dash", "a" * 65, "with.dot", "white%20space", "%C3%A9t%C3%A9", "semi%3Bcolon", "quote%27"],
)
def test_a_malformed_text_id_is_a_422_naming_it(cloud: Cloud, client: TestClient, text_id: str) -> None:
    response = client.get(f"/{text_id}")
    assert response.status_code == 422
    assert _fields(response) == ["path.text_id"]


def test_a_storage_failure_is_a_503_to_retry(cloud: Cloud, client: TestClient) -> None:
    # GIVEN the table is gone
    cloud.dynamodb.delete_table(TableName=cloud.table)
    response = client.get("/random", params={"difficulty": "easy"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == {
        "code": "service_unavailable",
        "message": "Could not read a text; try again later",
    }


# --- POST / ---------------------------------------------------------------------------------------------------------


def test_a_writer_posts_a_text(cloud: Cloud, writer: TestClient) -> None:
    # GIVEN a caller with texts:write
    # WHEN they post a text with messy whitespace and typographic punctuation
    response = writer.post(
        "/",
        json={
            "difficulty": "medium",
            "content": "  It\u2019s a  \u201cfine\u201d day\n\tfor a walk \u2014 isn\u2019t it?  ",
        },
    )
    # THEN it is stored normalised, and its Location reads it back
    assert response.status_code == 201
    body = response.json()
    assert body["content"] == "It's a \"fine\" day for a walk - isn't it?"
    assert (body["difficulty"], body["source"], body["word_count"]) == ("medium", "user", 10)
    assert body["text_id"].startswith("user-")
    assert response.headers["location"] == f"/{body['text_id']}"
    assert writer.get(response.headers["location"]).json() == body
    item = cloud.item(body["text_id"])
    assert item is not None
    assert item["created_by"] == {"S": "user:u-1"}
    assert 0 <= float(item["random_key"]["N"]) < 1


def test_posting_needs_a_caller(cloud: Cloud, client: TestClient) -> None:
    response = client.post("/", json={"difficulty": "easy", "content": CONTENT})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("too short", "at least 20 characters"),
        ("  a    b    c    d    e    f  ", "at least 20 characters"),  # 30 characters, 11 once normalised
        ("x" * 2001, "at most 2000 characters"),
        ("A bell rings\x07 twice in the hall today.", "control characters (found U+0007)"),
        ("Nul bytes \x00 are not text, not even here.", "control characters (found U+0000)"),
        ("An escape \x1b[31m sequence is not text either.", "control characters (found U+001B)"),
        ("A lone surrogate \ud800 cannot be stored at all.", "unicode"),  # refused when the JSON is parsed
        ("Zero\u200bwidth spaces hide inside the words.", "U+200B"),
        ("The override \u202e turns this text around.", "U+202E"),
        ("Emoji are not on a keyboard \U0001f600 sadly.", "U+1F600"),
        ("Private use \ue000 characters mean nothing.", "U+E000"),
        ("Zalgo te\u0301\u0302\u0303\u0304xt is not a typing text.", "combining marks"),
    ],
)
def test_an_unacceptable_content_is_a_422_naming_it(cloud: Cloud, writer: TestClient, content: str, why: str) -> None:
    response = writer.post(
        "/",
        content=json.dumps({"difficulty": "easy", "content": content}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert _fields(response) == ["body.content"]
    assert why in response.json()["error"]["details"][0]["message"]
    assert content not in response.text  # the value is not echoed
    assert cloud.items() == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"difficulty": "easy"}, ["body.content"]),
        ({"content": CONTENT}, ["body.difficulty"]),
        ({"difficulty": "insane", "content": CONTENT}, ["body.difficulty"]),
        ({"difficulty": "easy", "content": CONTENT, "source": "seed"}, ["body.source"]),
        ({"difficulty": "easy", "content": 42}, ["body.content"]),
        ([], ["body"]),
    ],
)
def test_a_malformed_body_is_a_422_naming_the_field(
    cloud: Cloud, writer: TestClient, body: Any, fields: list[str]
) -> None:
    response = writer.post("/", json=body)
    assert response.status_code == 422
    assert _fields(response) == fields


def test_accented_and_other_scripts_are_welcome(cloud: Cloud, writer: TestClient) -> None:
    # GIVEN accents as combining marks (NFD), other scripts, maths and currency symbols
    content = "Cre\u0300me bru\u0302le\u0301e, naïve café über alles; Жизнь ≤ 100 €."
    response = writer.post("/", json={"difficulty": "hard", "content": content})
    # THEN they are kept, NFC-normalised
    assert response.status_code == 201
    assert response.json()["content"] == "Crème brûlée, naïve café über alles; Жизнь ≤ 100 €."


def test_a_body_that_is_not_json_is_a_400(cloud: Cloud, writer: TestClient) -> None:
    response = writer.post("/", content=b'{"difficulty": "easy",', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_body_over_16_kib_is_a_413(cloud: Cloud, writer: TestClient) -> None:
    big = json.dumps({"difficulty": "easy", "content": "word " * 4000})
    response = writer.post("/", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert cloud.items() == []


def test_a_streamed_body_over_the_bound_is_a_413(cloud: Cloud, writer: TestClient) -> None:
    # No Content-Length: the body arrives in chunks, and is refused once it passes 16 KiB
    def chunks() -> Any:
        yield b'{"difficulty": "easy", "content": "'
        for _ in range(40):
            yield b"x" * 1000

    response = writer.post("/", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_an_id_collision_is_a_409_not_an_overwrite(cloud: Cloud, writer: TestClient) -> None:
    from text.store import TextStore, dynamodb_client

    class SameId(TextStore):
        def new_record(self, *args: Any, **kwargs: Any) -> Any:
            return super().new_record(*args, **{**kwargs, "text_id": "user-fixed"})

    app.dependency_overrides[get_text_store] = lambda: SameId(dynamodb_client(), cloud.table)
    assert writer.post("/", json={"difficulty": "easy", "content": CONTENT}).status_code == 201
    response = writer.post("/", json={"difficulty": "hard", "content": CONTENT + " Again."})
    assert response.status_code == 409
    item = cloud.item("user-fixed")
    assert item is not None
    assert item["difficulty"] == {"S": "easy"}
