"""The repository's own stack, started with `stratus dev` as the README says: worker (Lambda) and web (App Runner)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest

from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(repo_stack: DevStack) -> DevStack:
    return repo_stack


def test_the_worker_needs_an_api_key(stack: DevStack) -> None:
    # `auth = "api_key"`: the gateway's authorizer decides, as API Gateway's Lambda authorizer in AWS
    assert httpx.get(f"{stack.url}/worker/health").status_code == 401
    assert (
        httpx.get(f"{stack.url}/worker/health", headers={"x-api-key": "stk_0000000000000000_nope"}).status_code == 403
    )
    assert stack.client.get("/worker/health").status_code == 200
    listed = stack.run("apikey", "list")
    keys = json.loads(listed.stdout)
    assert stack.api_key.split("_")[1] in [k["key_id"] for k in keys]  # type: ignore[attr-defined]
    assert stack.api_key not in listed.stdout  # type: ignore[attr-defined]  # the secret is never shown again


def test_worker_health_is_reached_under_its_prefix(stack: DevStack) -> None:
    response = stack.client.get("/worker/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert body["service"] == "worker"
    assert body["environment"] == "dev"


@pytest.mark.parametrize("path", ["/worker", "/worker/", "/worker/liveness", "/worker/readiness"])
def test_worker_probes_answer(stack: DevStack, path: str) -> None:
    assert stack.client.get(path).status_code == 200


def test_a_job_is_accepted_queued_and_processed_by_the_consumer(stack: DevStack) -> None:
    # WHEN a client posts a job
    created = stack.client.post("/worker/jobs", json={"type": "sum", "payload": {"numbers": [1, 2, 3]}})
    # THEN it is accepted, and the SQS event source hands it to the consumer, which completes it
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    deadline = time.monotonic() + 30
    while (job := stack.client.get(f"/worker/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "succeeded" and job["result"] == 6
    stack.wait_log(r"worker/jobs\s+\| \S+ REPORT RequestId")


def test_the_jobs_queue_has_its_dead_letter_queue(stack: DevStack) -> None:
    state = stack.state()
    sqs = boto3.client(
        "sqs",
        endpoint_url=str(state["aws"]),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.get_queue_url(QueueName="stratus-dev-jobs")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":stratus-dev-jobs-dlq")
    assert int(redrive["maxReceiveCount"]) == 3
    assert attributes["VisibilityTimeout"] == "180"


def test_the_sweep_reads_the_jobs_dlq_as_the_workers_own_role(stack: DevStack) -> None:
    # The sweep receives from the jobs queue's DLQ: under IAM (as in AWS) its role must be granted that, or every
    # run fails with AccessDenied and dead-lettered jobs stay "retrying" for ever.
    from stratus.local import client

    swept = client.trigger(stack.dev_state(), "worker.sweeper")
    assert swept.function_error is None, swept.payload
    assert "AccessDenied" not in swept.log


def test_a_bad_job_gets_a_4xx_json_error_naming_the_field(stack: DevStack) -> None:
    response = stack.client.post("/worker/jobs", json={"payload": {}})
    assert 400 <= response.status_code < 500
    assert "type" in json.dumps(response.json())


def test_an_unknown_job_is_a_404_json_error(stack: DevStack) -> None:
    response = stack.client.get("/worker/jobs/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_web_is_reached_through_the_http_proxy_integration(stack: DevStack) -> None:
    health = stack.client.get("/web/health")
    assert health.status_code == 200, health.text
    containers = stack.state()["containers"]
    assert isinstance(containers, dict)
    assert health.json()["port"] == containers["web"].rsplit(":", 1)[1]
    page = stack.client.get("/web/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>TypeRush</title>" in page.text
    data = stack.client.get("/web/api/data")
    assert data.json()["items"][0] == {"id": 1, "name": "Item 1"}


QUIET = "-n0 -p no:schemathesis -p no:hypothesispytest"  # one process; plugins the integration tests do not use


def test_stratus_test_against_a_url_runs_the_smoke_suite_as_against_a_deployed_stack(stack: DevStack) -> None:
    # the running stack seen as a deployed one: only its URL and an API key, the local-only tests skipped
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "test", "--against", stack.url, "--api-key", stack.api_key, "--smoke"],  # type: ignore[attr-defined]
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTEST_ADDOPTS": QUIET},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
    shown = " ".join((done.stdout + done.stderr).split())  # the command line is echoed, wrapped
    assert f"--stratus-url {stack.url}" in shown and stack.api_key not in shown  # type: ignore[attr-defined]


def test_stratus_test_against_a_url_that_is_no_stack_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "test", "--against", "http://127.0.0.1:9/"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "cannot reach http://127.0.0.1:9/" in done.stderr
    assert "Traceback" not in done.stderr


def test_queue_depths_are_shown(stack: DevStack) -> None:
    stack.wait_log(r"queues\s+\| jobs: \d+ waiting, \d+ in flight, \d+ in its DLQ")


def test_stratus_logs_prints_a_services_lines(stack: DevStack) -> None:
    stack.client.get("/worker/health")
    stack.wait_log(r"worker\s+\| \S+ REPORT RequestId")
    time.sleep(0.1)
    done = stack.run("logs", "worker")
    assert done.returncode == 0, done.stderr
    assert "REPORT RequestId" in done.stdout
