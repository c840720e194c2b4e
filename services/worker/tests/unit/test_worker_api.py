"""The worker's HTTP API against moto's in-process AWS: probes, POST /jobs (both shapes), GET /jobs/{id}, OpenAPI."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common.settings import get_settings
from stratus_common.testing import client_for
from worker import consumer
from worker.main import MAX_PAYLOAD_BYTES, app

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient

    from .conftest import Cloud


KNOWN_TYPES = "echo, fail, process_data, sum"


@pytest.fixture
def client(cloud: Cloud) -> TestClient:
    return client_for(app)


def _run_queued_jobs(cloud: Cloud, sqs_event: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> None:
    """Hand the queued messages to the consumer, as the event source mapping does; all must be done."""
    assert consumer.handler(sqs_event(cloud.receive()), None) == {"batchItemFailures": []}


def test_root_says_what_it_is(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the worker deployed as version 1.4.0
    monkeypatch.setenv("SERVICE_VERSION", "1.4.0")
    get_settings.cache_clear()
    # WHEN / is called
    response = client.get("/")
    # THEN it names the service and its version
    assert response.json() == {"service": "worker", "message": "Worker service is running", "version": "1.4.0"}


def test_probes(client: TestClient) -> None:
    # GIVEN the worker with its jobs table
    # WHEN the probes are called
    health = client.get("/health").json()
    # THEN it is healthy, alive and ready
    assert (health["status"], health["service"]) == ("healthy", "worker")
    assert client.get("/liveness").json() == {"status": "alive"}
    assert client.get("/readiness").json() == {"status": "ready"}


def test_not_ready_when_the_table_does_not_answer(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table name that does not exist
    monkeypatch.setenv("JOB_RECORDS_TABLE_NAME", "no-such-table")
    get_settings.cache_clear()
    # WHEN readiness is checked
    response = client.get("/readiness")
    # THEN it is 503, naming the failing check
    assert response.status_code == 503
    body = response.json()
    assert body == {"status": "not ready", "checks": {"jobs_table": "unavailable"}}


def test_not_ready_when_the_table_is_not_configured(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no JOB_RECORDS_TABLE_NAME
    monkeypatch.delenv("JOB_RECORDS_TABLE_NAME")
    get_settings.cache_clear()
    # WHEN readiness is checked
    response = client.get("/readiness")
    # THEN the check fails (the log says why: a ConfigurationError)
    assert response.status_code == 503
    assert response.json()["checks"] == {"jobs_table": "unavailable"}


def test_post_jobs_stores_and_queues_the_job(client: TestClient, cloud: Cloud) -> None:
    # GIVEN an echo job
    # WHEN it is posted
    response = client.post("/jobs", json={"type": "echo", "payload": {"greeting": "hello", "n": 1.5}})
    # THEN it is accepted, with its id and where to find it
    assert response.status_code == 202
    body = response.json()
    job_id = body["job_id"]
    assert body == {"job_id": job_id, "status": "queued"}
    assert uuid.UUID(job_id).version == 4
    assert response.headers["location"] == f"/jobs/{job_id}"
    # AND the table holds the queued job
    item = cloud.item(job_id)
    assert item is not None
    assert item["status"] == {"S": "queued"}
    assert item["type"] == {"S": "echo"}
    assert json.loads(item["payload"]["S"]) == {"greeting": "hello", "n": 1.5}
    assert item["created_at"] == item["updated_at"]
    assert item["created_at"]["S"].endswith("Z")
    # AND the queue holds one message naming the job
    messages = cloud.receive()
    assert [json.loads(message["Body"]) for message in messages] == [{"job_id": job_id}]


def test_get_job_returns_its_status(client: TestClient) -> None:
    # GIVEN a queued job
    job_id = client.post("/jobs", json={"type": "echo", "payload": {}}).json()["job_id"]
    # WHEN it is read
    response = client.get(f"/jobs/{job_id}")
    # THEN its status is queued, without a result
    assert response.status_code == 200
    body = response.json()
    assert body["job_id"] == job_id
    assert (body["status"], body["type"], body["attempts"]) == ("queued", "echo", 0)
    assert "result" not in body


UNKNOWN_JOB = "0b9f6c8e-5a4d-4d1e-9f0a-3c2b1a0e9d8c"  # fixed: pytest-xdist's workers must collect the same ids


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB, "not-a-uuid"])
def test_an_unknown_job_is_a_json_404(client: TestClient, job_id: str) -> None:
    # GIVEN no such job
    # WHEN it is read
    response = client.get(f"/jobs/{job_id}")
    # THEN it is a 404 in the standard error shape
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "echo"}, "body.payload"),
        ({"type": None, "payload": {}}, "body.type"),
        ({"type": "echo", "payload": None}, "body.payload"),
        ({"task": None}, "body.task"),
        ({"task": ""}, "body.task"),
        ({"task": "echo", "payload": [1, 2]}, "body.payload"),
        ({"task": "echo", "priority": 1}, "body.priority"),
        ({"type": "echo", "payload": [1, 2]}, "body.payload"),
        ({"payload": {}}, "body.type"),
        ({"type": "", "payload": {}}, "body.type"),
        ({"type": "echo; rm -rf /", "payload": {}}, "body.type"),
        ({"type": "x" * 65, "payload": {}}, "body.type"),
        ({"type": "echo", "payload": {}, "priority": 1}, "body.priority"),
        ({"type": "echo", "payload": {"blob": "x" * MAX_PAYLOAD_BYTES}}, "body.payload"),
    ],
)
def test_invalid_jobs_are_rejected_naming_the_field(
    client: TestClient, cloud: Cloud, body: dict[str, Any], field: str
) -> None:
    # GIVEN a job body that is wrong in one field
    # WHEN it is posted
    response = client.post("/jobs", json=body)
    # THEN it is a 422 naming that field, and nothing was queued
    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["error"]["details"]]
    assert cloud.receive() == []


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        ({"task": "echo"}, {}),
        ({"task": "echo", "payload": {"greeting": "hello"}}, {"greeting": "hello"}),
    ],
)
def test_task_is_an_alias_of_type(
    client: TestClient,
    cloud: Cloud,
    sqs_event: Callable[[list[dict[str, Any]]], dict[str, Any]],
    body: dict[str, Any],
    payload: dict[str, Any],
) -> None:
    # GIVEN a job posted with "task" rather than "type", with or without a payload
    # WHEN it is posted
    response = client.post("/jobs", json=body)
    # THEN it is accepted and stored as a job of that type, its payload {} when none was given
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    item = cloud.item(job_id)
    assert item is not None
    assert item["type"] == {"S": "echo"}
    assert json.loads(item["payload"]["S"]) == payload
    # AND the consumer runs it to success
    _run_queued_jobs(cloud, sqs_event)
    job = client.get(f"/jobs/{job_id}").json()
    assert (job["status"], job["type"], job["result"]) == ("succeeded", "echo", payload)


def test_the_source_documents_process_data_jobs_run(
    client: TestClient, cloud: Cloud, sqs_event: Callable[[list[dict[str, Any]]], dict[str, Any]]
) -> None:
    # GIVEN the two process_data jobs the source documents post: the task alias alone, and type with a payload
    bare = client.post("/jobs", json={"task": "process_data"})
    keyed = client.post("/jobs", json={"type": "process_data", "payload": {"key": "value"}})
    assert (bare.status_code, keyed.status_code) == (202, 202)
    # WHEN the consumer processes them
    _run_queued_jobs(cloud, sqs_event)
    # THEN both succeeded, describing their payloads ({} and {"key": "value"})
    assert client.get(f"/jobs/{bare.json()['job_id']}").json()["result"] == {
        "key_count": 0,
        "keys": [],
        "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size_bytes": 2,
    }
    assert client.get(f"/jobs/{keyed.json()['job_id']}").json()["result"] == {
        "key_count": 1,
        "keys": ["key"],
        "sha256": "e43abcf3375244839c012f9633f95862d232a95b00d5bc7348b3098b9fed7f32",
        "size_bytes": 15,
    }


@pytest.mark.parametrize(
    ("body", "field", "name"),
    [
        ({"task": "test"}, "body.task", "test"),
        ({"task": "test_task"}, "body.task", "test_task"),
        ({"task": "test_task", "payload": {"a": 1}}, "body.task", "test_task"),
        ({"type": "teleport", "payload": {}}, "body.type", "teleport"),
        ({"type": "Echo", "payload": {}}, "body.type", "Echo"),
    ],
)
def test_a_type_without_a_processor_is_refused(
    client: TestClient, cloud: Cloud, body: dict[str, Any], field: str, name: str
) -> None:
    # GIVEN a job of a type no processor handles
    # WHEN it is posted
    response = client.post("/jobs", json=body)
    # THEN it is a 422 naming the field, the type and the types there are
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "Request validation failed",
            "details": [
                {
                    "field": field,
                    "message": f"unknown job type '{name}'; one of: {KNOWN_TYPES}",
                    "type": "unknown_job_type",
                }
            ],
        }
    }
    # AND no job was stored or queued
    assert cloud.dynamodb.scan(TableName=cloud.table)["Items"] == []
    assert cloud.receive() == []


@pytest.mark.parametrize(
    "body",
    [
        {"type": "echo", "task": "echo", "payload": {}},
        {"type": "echo", "task": "sum"},
        {"task": "echo", "type": "echo"},
    ],
)
def test_type_and_task_together_are_refused(client: TestClient, cloud: Cloud, body: dict[str, Any]) -> None:
    # GIVEN a body giving both "type" and its alias "task"
    # WHEN it is posted
    response = client.post("/jobs", json=body)
    # THEN it is a 422 naming body.task, and nothing was stored or queued
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [
        {
            "field": "body.task",
            "message": "give either 'type' or its alias 'task', not both",
            "type": "type_and_task",
        }
    ]
    assert cloud.dynamodb.scan(TableName=cloud.table)["Items"] == []
    assert cloud.receive() == []


def test_every_problem_is_reported_with_type_and_task_together(client: TestClient) -> None:
    # GIVEN a body giving both fields, one of them an unknown type, and a payload that is not an object
    # WHEN it is posted
    response = client.post("/jobs", json={"type": "teleport", "task": "echo", "payload": [1]})
    # THEN each problem is reported at its field
    assert response.status_code == 422
    details = {(detail["field"], detail["type"]) for detail in response.json()["error"]["details"]}
    assert details == {
        ("body.task", "type_and_task"),
        ("body.type", "unknown_job_type"),
        ("body.payload", "dict_type"),
    }


def test_the_openapi_document_shows_both_shapes(client: TestClient) -> None:
    # GIVEN the worker's OpenAPI document
    document = client.get("/openapi.json").json()
    schema = document["components"]["schemas"]["JobRequest"]
    # THEN type and task are strings, each one of the known types
    for field in ("type", "task"):
        assert schema["properties"][field]["type"] == "string"
        assert schema["properties"][field]["enum"] == ["echo", "fail", "process_data", "sum"]
        assert "default" not in schema["properties"][field]
    assert schema["properties"]["payload"]["type"] == "object"
    # AND the body is exactly one of the two shapes, with no other field
    assert schema["oneOf"] == [
        {"title": "type and payload", "required": ["type", "payload"], "not": {"required": ["task"]}},
        {"title": "task alias", "required": ["task"], "not": {"required": ["type"]}},
    ]
    assert schema["additionalProperties"] is False
    assert {"task": "process_data", "payload": {"key": "value"}} in schema["examples"]
    # AND POST /jobs has an example of each shape
    examples = document["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    values = [example["value"] for example in examples.values()]
    assert {"type": "sum", "payload": {"numbers": [1, 2, 3]}} in values
    assert {"task": "process_data"} in values


def test_non_finite_numbers_are_rejected(client: TestClient) -> None:
    # GIVEN a payload with NaN, which Python's JSON parser accepts
    # WHEN it is posted
    response = client.post(
        "/jobs", content=b'{"type": "sum", "payload": {"numbers": [NaN]}}', headers={"content-type": "application/json"}
    )
    # THEN it is rejected
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.payload"


def test_malformed_json_is_a_400(client: TestClient) -> None:
    # GIVEN a body that is not JSON
    # WHEN it is posted
    response = client.post("/jobs", content=b"{type: echo}", headers={"content-type": "application/json"})
    # THEN it is a 400 naming the problem
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_queue_failure_is_a_503_and_the_job_is_marked_failed(
    client: TestClient, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a queue URL that names no queue
    monkeypatch.setenv("JOBS_QUEUE_URL", cloud.queue_url.replace("acme-local-jobs", "missing-queue"))
    get_settings.cache_clear()
    # WHEN a job is posted
    response = client.post("/jobs", json={"type": "echo", "payload": {}})
    # THEN the client is told to retry later
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "service_unavailable",
        "message": "Could not queue the job; try again later",
    }
    # AND the stored job does not stay "queued" forever
    items = cloud.dynamodb.scan(TableName=cloud.table)["Items"]
    assert [(item["status"]["S"], item["error"]["S"]) for item in items] == [("failed", "could not be queued")]


def test_a_table_failure_is_a_503(client: TestClient, cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table that does not exist
    monkeypatch.setenv("JOB_RECORDS_TABLE_NAME", "no-such-table")
    get_settings.cache_clear()
    # WHEN a job is posted
    response = client.post("/jobs", json={"type": "echo", "payload": {}})
    # THEN it is a 503 and nothing was queued
    assert response.status_code == 503
    assert cloud.receive() == []


def test_a_missing_queue_setting_is_a_generic_500(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a worker deployed without its queue declared
    monkeypatch.delenv("JOBS_QUEUE_URL")
    get_settings.cache_clear()
    # WHEN a job is posted
    response = client.post("/jobs", json={"type": "echo", "payload": {}})
    # THEN the client sees an internal error, not the configuration details
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
