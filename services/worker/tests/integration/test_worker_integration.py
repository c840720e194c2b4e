"""The worker through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed stack
(`stratus test --against URL --api-key KEY`), unchanged. Behind `auth = "api_key"`; jobs go through SQS to the
worker's consumer, their results to DynamoDB."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from stratus.testing import StratusCloud


@pytest.fixture
def api(stratus_cloud: StratusCloud) -> Iterator[httpx.Client]:
    with stratus_cloud.client("/worker", api_key=stratus_cloud.api_key()) as client:
        yield client


def _wait_for(api: httpx.Client, job_id: str, *, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.get(f"/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


@pytest.mark.smoke
def test_health(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["service"]) == ("healthy", "worker")


@pytest.mark.smoke
def test_a_job_is_queued_then_processed(api: httpx.Client) -> None:
    # GIVEN a sum job WHEN it is posted THEN it is accepted, and the consumer processes it (SQS -> Lambda)
    created = api.post("/jobs", json={"type": "sum", "payload": {"numbers": [1, 2, 3]}})
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    assert created.headers["location"].endswith(f"/worker/jobs/{job_id}")
    job = _wait_for(api, job_id)
    assert (job["status"], job["result"]) == ("succeeded", 6)


def test_the_task_alias_is_queued_then_processed(api: httpx.Client) -> None:
    # GIVEN a process_data job in the "task" shape, without a payload
    created = api.post("/jobs", json={"task": "process_data"})
    assert created.status_code == 202
    job = _wait_for(api, created.json()["job_id"])
    # THEN the consumer describes its payload, {}
    assert job["status"] == "succeeded"
    assert job["result"] == {
        "key_count": 0,
        "keys": [],
        "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size_bytes": 2,
    }


def test_an_unknown_type_is_refused(api: httpx.Client) -> None:
    # a 422 naming the field and the known types, not a job that can only fail
    response = api.post("/jobs", json={"type": "teleport", "payload": {}})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "body.type"
    assert "teleport" in detail["message"] and "process_data" in detail["message"]


def test_an_unknown_job_is_a_404(api: httpx.Client) -> None:
    response = api.get("/jobs/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_forged_key_is_refused_by_the_authorizer(stratus_cloud: StratusCloud) -> None:
    forged = stratus_cloud.http.get("/worker/health", headers={"x-api-key": "stk_0123456789abcdef_" + "x" * 43})
    assert (forged.status_code, forged.json()) == (403, {"message": "Forbidden"})
