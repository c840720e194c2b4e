"""The worker through a running stack: set STRATUS_URL (the HTTP API's URL, e.g. of `stratus dev`) to run.

If the worker is protected (auth = "api_key"), set STRATUS_API_KEY too; it is sent as x-api-key.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from stratus_common.testing import stack_client, stack_url

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

pytestmark = pytest.mark.skipif(not stack_url(), reason="set STRATUS_URL to the HTTP API's URL to run")


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with stack_client("/worker") as client:
        yield client


def _wait_for(api: httpx.Client, job_id: str, *, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, object] = api.get(f"/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def test_health(api: httpx.Client) -> None:
    # GIVEN the stack is up
    # WHEN /worker/health is called through the HTTP API
    response = api.get("/health")
    # THEN the worker answers
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["service"] == "worker"


def test_a_job_is_queued_then_processed(api: httpx.Client) -> None:
    # GIVEN a sum job
    # WHEN it is posted
    created = api.post("/jobs", json={"type": "sum", "payload": {"numbers": [1, 2, 3]}})
    # THEN it is accepted, and the consumer processes it
    assert created.status_code == 202
    job_id = created.json()["job_id"]
    assert created.headers["location"].endswith(f"/worker/jobs/{job_id}")
    job = _wait_for(api, job_id)
    assert job["status"] == "succeeded"
    assert job["result"] == 6


def test_the_task_alias_is_queued_then_processed(api: httpx.Client) -> None:
    # GIVEN a process_data job in the "task" shape, without a payload
    # WHEN it is posted
    created = api.post("/jobs", json={"task": "process_data"})
    # THEN it is accepted, and the consumer describes its payload, {}
    assert created.status_code == 202
    job = _wait_for(api, created.json()["job_id"])
    assert job["status"] == "succeeded"
    assert job["result"] == {
        "key_count": 0,
        "keys": [],
        "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size_bytes": 2,
    }


def test_an_unknown_type_is_refused(api: httpx.Client) -> None:
    # GIVEN a job of a type the worker does not know
    # WHEN it is posted
    response = api.post("/jobs", json={"type": "teleport", "payload": {}})
    # THEN it is a 422 naming the field and the known types, not a job that can only fail
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "body.type"
    assert "teleport" in detail["message"]
    assert "process_data" in detail["message"]


def test_an_unknown_job_is_a_404(api: httpx.Client) -> None:
    # GIVEN no such job
    # WHEN it is read
    response = api.get("/jobs/00000000-0000-4000-8000-000000000000")
    # THEN it is a JSON 404
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
