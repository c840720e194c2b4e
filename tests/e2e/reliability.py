"""The worker under fire: jobs enqueued through the API while the consumer's execution environments are
killed with SIGKILL; afterwards every job is done exactly once in effect, or dead-lettered with a reason.

Shared by tests/e2e/test_worker_reliability.py (small scale) and bench/reliability.py (5,000 jobs).
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.e2e.devstack import DevStack

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """
[project]
name = "reliab"

[services.worker]
kind = "lambda"
path = "/worker"
timeout = {timeout}
uses = {{ jobs = "send-receive", job-records = "read-write" }}
consumes = [{{ queue = "jobs", handler = "worker.consumer.handler", batch_size = 10 }}]
schedules = [{{ rate = "1 day", handler = "worker.sweeper.handler" }}]

[queues.jobs]
visibility_timeout = {timeout}
max_receive_count = 3

[tables.job-records]
hash_key = "job_id"
"""


def make_worker_project(root: Path, *, timeout: int = 4) -> Path:
    """The reference worker with a short timeout, so killed batches come back within seconds."""
    (root / "stratus.toml").write_text(textwrap.dedent(MANIFEST.format(timeout=timeout)))
    shutil.copytree(REPO / "services" / "worker", root / "services" / "worker",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))  # fmt: skip
    return root


@dataclass
class Outcome:
    jobs: int
    kills: int
    statuses: Counter[str] = field(default_factory=Counter)
    wrong_results: list[str] = field(default_factory=list)
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def consumer_environments(stack: DevStack) -> list[psutil.Process]:
    """This stack's consumer environments (never another stack's: tests run beside each other)."""
    found = []
    for process in stack.descendants():
        try:
            if "worker.consumer.handler" in process.cmdline():
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    return found


def run(stack: DevStack, *, jobs: int, kills: int, timeout: float) -> Outcome:
    """Post ``jobs`` sum jobs, SIGKILL every consumer environment ``kills`` times meanwhile, wait for the end."""
    started = time.monotonic()
    outcome = Outcome(jobs=jobs, kills=0)
    with httpx.Client(base_url=f"{stack.url}/worker", timeout=30) as client, ThreadPoolExecutor(8) as pool:

        def post(i: int) -> tuple[str, int]:
            for _ in range(3):  # a loaded machine can make the 4 s function time out (a 500): a client retries
                response = client.post("/jobs", json={"type": "sum", "payload": {"numbers": [i, 1]}})
                if response.status_code < 500:
                    break
            response.raise_for_status()
            return str(response.json()["job_id"]), i + 1

        expected = dict(pool.map(post, range(jobs)))
        for _ in range(kills):
            deadline = time.monotonic() + 10
            while not (victims := consumer_environments(stack)) and time.monotonic() < deadline:
                time.sleep(0.05)
            for process in victims:
                try:
                    os.kill(process.pid, signal.SIGKILL)
                    outcome.kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.5)

        deadline = time.monotonic() + timeout
        while True:
            states = job_states(stack)  # one Scan, not one API call per job
            pending = [j for j in expected if states.get(j, {}).get("status") not in ("succeeded", "failed")]
            if not pending or time.monotonic() > deadline:
                break
            # the sweep marks the jobs whose message went to the DLQ; EventBridge would run it every few minutes
            stack_trigger(stack)
            time.sleep(2)
        # what the API says, for a sample: the same records, through the service
        for job_id in list(expected)[:: max(1, len(expected) // 50)]:
            assert client.get(f"/jobs/{job_id}").json()["status"] == states[job_id]["status"]
    for job_id in expected:
        state = states.get(job_id, {"status": "lost"})
        outcome.statuses[str(state["status"])] += 1
        if state["status"] == "succeeded" and state.get("result") != expected[job_id]:
            outcome.wrong_results.append(job_id)
        if state["status"] == "failed":
            outcome.dead_letter_reasons[str(state.get("error"))] += 1
    outcome.seconds = time.monotonic() - started
    return outcome


def job_states(stack: DevStack) -> dict[str, dict[str, object]]:
    """Every job record of the local table, by id (status, result as the API shows it, error)."""
    import json

    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=str(stack.state()["aws"]), region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    out: dict[str, dict[str, object]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName="reliab-dev-job-records"):
        for item in page["Items"]:
            result = item.get("result", {}).get("S")
            out[item["job_id"]["S"]] = {
                "status": item["status"]["S"],
                "result": json.loads(result) if result else None,
                "error": item.get("error", {}).get("S"),
            }
    return out


def stack_trigger(stack: DevStack) -> None:
    from stratus.local.client import invoke, running_stack

    running = running_stack(stack.root)
    if running is not None:
        invoke(running, "worker/sweeper", b"{}")
