"""The limiter under contention, against a REAL moto server started from stratus.local.aws_server.

moto's in-process mock is not atomic (shared/reference/feasibility.md §1c): two threads can both pass a
condition. The local cloud's moto wrapper serialises DynamoDB actions, as AWS makes each one atomic, so
this test is about what the limiter asks DynamoDB to do: one conditional ADD, never read-then-write.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from stratus_common.ratelimit import RateLimiter, RatePolicy

if TYPE_CHECKING:
    from collections.abc import Iterator

THREADS = 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "stratus.local.aws_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _dynamodb(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=THREADS * 2, retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.mark.parametrize(("limit", "per_thread"), [(50, 4), (150, 25)])
def test_sixteen_racing_threads_get_exactly_n_admissions(moto_server: str, limit: int, per_thread: int) -> None:
    # GIVEN the rate_limits table on a real moto server, and a policy of N per hour
    dynamodb = _dynamodb(moto_server)
    table = f"race-{limit}-{time.time_ns()}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "limit_key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "limit_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    policy = RatePolicy(requests=limit, period=3600)
    fixed_now = 1_800_000_000.0  # every thread in the same window
    attempts = THREADS * per_thread
    assert attempts > limit
    admitted: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def run() -> None:
        limiter = RateLimiter(_dynamodb(moto_server), table, clock=lambda: fixed_now)
        barrier.wait()
        for _ in range(per_thread):
            try:
                decision = limiter.hit("/worker", "key:race", policy)
            except BaseException as exc:
                errors.append(exc)
                continue
            with lock:
                (admitted if decision.allowed else refused).append(decision.remaining)

    # WHEN 16 threads race N + k requests of one principal
    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN exactly N are admitted, the k others refused, and the stored count is N
    assert errors == []
    assert len(admitted) == limit
    assert len(refused) == attempts - limit
    assert sorted(admitted) == list(range(limit))  # each admission saw a distinct count
    [item] = dynamodb.scan(TableName=table)["Items"]
    assert item["request_count"]["N"] == str(limit)
