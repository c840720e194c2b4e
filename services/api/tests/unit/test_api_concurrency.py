"""E-mail uniqueness and versions under REAL concurrency: 16 threads against a moto server, at once.

moto's in-process mock applies conditions without a lock, so two threads can both pass one (and a transaction is
not atomic against another). The local cloud's moto (``python -m stratus.local.aws_server``) runs each DynamoDB
action under a lock, as AWS makes each one atomic: that is the server these tests start, in a subprocess, and
the app reaches it through ``AWS_ENDPOINT_URL``, as it does in ``stratus dev``.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

THREADS = 16
SAME_EMAIL = ("same@example.com", "SAME@Example.COM")


def _race(make_client: Callable[[], TestClient], request: Callable[[TestClient, int], Any]) -> list[Any]:
    """Run *request* in THREADS threads released at the same moment; return the responses."""
    clients = [make_client() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    responses: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            responses[n] = request(clients[n], n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return responses


def test_sixteen_creates_with_one_email_make_exactly_one_user(
    server_cloud: Cloud, make_client: Callable[[], TestClient]
) -> None:
    dynamodb, users, emails = server_cloud.dynamodb, server_cloud.users_table, server_cloud.emails_table
    # WHEN 16 threads create 16 different users with the same address (in different cases) at once
    responses = _race(
        make_client,
        lambda client, n: client.post(
            "/", json={"user_id": f"racer-{n}", "name": f"Racer {n}", "email": SAME_EMAIL[n % 2]}
        ),
    )
    # THEN exactly one is created, the 15 others are told the address is taken
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: THREADS - 1}
    assert {response.json()["error"]["code"] for response in responses if response.status_code == 409} == {
        "email_taken"
    }
    winner = next(response.json()["user_id"] for response in responses if response.status_code == 201)
    # AND the tables hold one user and one user-emails item, the winner's
    assert [item["user_id"]["S"] for item in dynamodb.scan(TableName=users)["Items"]] == [winner]
    assert dynamodb.scan(TableName=emails)["Items"] == [{"email": {"S": "same@example.com"}, "user_id": {"S": winner}}]


def test_sixteen_updates_of_one_version_make_exactly_one_change(
    server_cloud: Cloud, make_client: Callable[[], TestClient]
) -> None:
    dynamodb, emails = server_cloud.dynamodb, server_cloud.emails_table
    client = make_client()
    assert client.post("/", json={"user_id": "u1", "name": "Ann", "email": "ann@example.com"}).status_code == 201
    # WHEN 16 threads change the user, each to its own address, all from version 1
    responses = _race(
        make_client,
        lambda c, n: c.put("/u1", json={"name": f"Ann {n}", "email": f"ann{n}@example.com", "version": 1}),
    )
    # THEN one change wins, the others are version conflicts
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 409: THREADS - 1}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"version_conflict"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert client.get("/u1").json() == winner
    # AND exactly the winner's address is claimed: the old one released, no loser's claimed
    assert dynamodb.scan(TableName=emails)["Items"] == [{"email": {"S": winner["email"]}, "user_id": {"S": "u1"}}]


def test_sixteen_users_moving_to_one_email_leave_it_to_exactly_one(
    server_cloud: Cloud, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    for n in range(THREADS):
        body = {"user_id": f"mover-{n}", "name": f"Mover {n}", "email": f"mover{n}@example.com"}
        assert client.post("/", json=body).status_code == 201
    # WHEN 16 users change to the same address at once
    responses = _race(
        make_client,
        lambda c, n: c.put(f"/mover-{n}", json={"name": f"Mover {n}", "email": "wanted@example.com", "version": 1}),
    )
    # THEN one gets it; the others are told it is taken, and keep their own
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 409: THREADS - 1}
    winner = next(n for n, response in enumerate(responses) if response.status_code == 200)
    assert server_cloud.email_owner("wanted@example.com") == f"mover-{winner}"
    assert server_cloud.email_owner(f"mover{winner}@example.com") is None
    for n in range(THREADS):
        if n != winner:
            assert responses[n].json()["error"]["code"] == "email_taken"
            assert server_cloud.email_owner(f"mover{n}@example.com") == f"mover-{n}"
    assert len(server_cloud.email_items()) == THREADS
