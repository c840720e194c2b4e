"""The worker through a running stack: set STRATUS_URL (the HTTP API's URL, e.g. of `stratus dev`) to run.

If the worker is protected (auth = "api_key"), set STRATUS_API_KEY too; it is sent as x-api-key.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

STRATUS_URL = os.environ.get("STRATUS_URL", "").rstrip("/")

pytestmark = pytest.mark.skipif(not STRATUS_URL, reason="set STRATUS_URL to the HTTP API's URL to run")


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    headers = {"x-api-key": os.environ["STRATUS_API_KEY"]} if os.environ.get("STRATUS_API_KEY") else {}
    with httpx.Client(base_url=f"{STRATUS_URL}/worker", headers=headers, timeout=30) as client:
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


def test_an_unknown_type_fails_for_good(api: httpx.Client) -> None:
    # GIVEN a job of a type the worker does not know
    job_id = api.post("/jobs", json={"type": "teleport", "payload": {}}).json()["job_id"]
    # WHEN the consumer gets it
    job = _wait_for(api, job_id)
    # THEN it failed, saying why
    assert job["status"] == "failed"
    assert "teleport" in str(job["error"])


def test_an_unknown_job_is_a_404(api: httpx.Client) -> None:
    # GIVEN no such job
    # WHEN it is read
    response = api.get("/jobs/00000000-0000-4000-8000-000000000000")
    # THEN it is a JSON 404
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
