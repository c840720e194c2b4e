"""The local console against a running stack (tests/e2e/lab.py's console lab), over real sockets: what it shows of
requests, functions, queues, schedules, data and logs, what it does (replay, redrive, run now), its live
stream, and who it refuses. The browser drives the same stack in test_console_browser.py."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from stratus.local.client import client as aws_client
from tests.e2e.devstack import DevStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("console")]  # one worker starts this stack
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def console(console_lab: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_lab.console_url, timeout=30) as client:
        yield client


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def detail(console: httpx.Client, request_id: str, **params: str) -> dict[str, Any]:
    answer = console.get(f"/api/requests/{quote(request_id, safe='')}", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_request_shows_its_route_event_response_logs_and_timings(
    console_lab: DevStack, console: httpx.Client
) -> None:
    sent = console_lab.client.get("/app/hello?page=2", headers={"authorization": f"Bearer {TOKEN}"})
    assert sent.status_code == 200
    request_id = sent.headers["apigw-requestid"]
    listed = eventually(lambda: [r for r in console.get("/api/requests").json()["requests"] if r["id"] == request_id],
                        "the request is listed")  # fmt: skip
    assert listed[0]["status"] == 200 and listed[0]["service"] == "app" and listed[0]["path"] == "/app/hello?page=2"
    shown = detail(console, request_id)
    assert shown["route"] == listed[0]["route"] and shown["route"].endswith("/app/{proxy+}")
    event = shown["event"]
    assert event["rawPath"] == "/app/hello" and event["requestContext"]["requestId"] == request_id
    assert event["queryStringParameters"] == {"page": "2"}
    invocation = shown["invocation"]
    assert invocation["function"] == "app" and invocation["duration_ms"] > 0 and invocation["error"] is None
    lines = [line["line"] for line in eventually(lambda: detail(console, request_id)["logs"], "its log lines")]
    assert any(line.startswith(f"START RequestId: {invocation['request_id']}") for line in lines), lines
    assert any(
        line.startswith("REPORT RequestId:")
        for line in eventually(
            lambda: [x["line"] for x in detail(console, request_id)["logs"] if "REPORT" in x["line"]], "REPORT"
        )
    )
    # Masked by default: the header, the event's copy of it, the token the function logged and returned.
    text = json.dumps(detail(console, request_id), ensure_ascii=False)
    assert TOKEN not in text and "•••• (masked" in text
    assert TOKEN in json.dumps(detail(console, request_id, reveal="1"))
    assert dict(shown["request"]["headers"])["authorization"].startswith("•••• (masked")


def test_replay_sends_the_same_request_again_as_a_new_one(console_lab: DevStack, console: httpx.Client) -> None:
    sent = console_lab.client.post("/app/replay-me", json={"n": 1}, headers={"x-custom": "kept"})
    first = sent.headers["apigw-requestid"]
    eventually(lambda: console.get(f"/api/requests/{quote(first, safe='')}").status_code == 200, "recorded")
    replayed = console.post(f"/api/requests/{quote(first, safe='')}/replay", json={})
    assert replayed.status_code == 200, replayed.text
    again = replayed.json()
    assert again["status"] == 200 and again["id"] != first
    shown = eventually(lambda: console.get(f"/api/requests/{quote(again['id'], safe='')}").status_code == 200
                       and detail(console, again["id"]), "the replay is recorded")  # fmt: skip
    assert shown["event"]["body"] == '{"n":1}' and shown["event"]["headers"]["x-custom"] == "kept"
    assert console.post("/api/requests/nope/replay", json={}).status_code == 404


def test_functions_show_pools_figures_the_last_error_and_grants(console_lab: DevStack, console: httpx.Client) -> None:
    assert console_lab.client.get("/app/fail").status_code == 500
    functions = {f["key"]: f for f in console.get("/api/functions").json()["functions"]}
    app = functions["app"]
    assert app["handler"] == "app.main.web" and app["memory"] > 0 and app["timeout"] == 1
    assert app["invocations"] >= 1 and app["errors"] >= 1 and app["p50_ms"] is not None
    assert sum(app["environments"].values()) >= 1
    assert app["last_error"]["type"] == "RuntimeError" and app["last_error"]["message"] == "web failure on purpose"
    assert any("main.py" in line for line in app["last_error"]["trace"])
    assert any("sqs:SendMessage" in grant for grant in app["grants"])
    assert {f["kind"] for f in functions.values()} == {"http", "sqs", "schedule"}


def test_a_failed_job_shows_in_the_dlq_and_is_redriven(console_lab: DevStack, console: httpx.Client) -> None:
    sqs = aws_client(console_lab.dev_state(), "sqs")
    url = sqs.get_queue_url(QueueName="clab-dev-tasks")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison-redrive")

    def dead() -> int:
        queue = next(q for q in console.get("/api/queues").json()["queues"] if q["name"] == "tasks")
        return int(queue["dlq"]["waiting"])

    def bodies() -> list[str]:
        return [m["body"] for m in console.get("/api/queues/tasks/dlq").json()["messages"]]

    eventually(lambda: "poison-redrive" in bodies(), "the poison message reaches the DLQ")
    messages = console.get("/api/queues/tasks/dlq").json()["messages"]
    assert len({m["id"] for m in messages}) == len(messages), "each message once"
    assert next(m for m in messages if m["body"] == "poison-redrive")["receive_count"] >= 1
    dead_now = dead()
    assert dead_now >= 1 and dead() == dead_now, "inspecting leaves the messages in the DLQ"
    deliveries = Path(console_lab.root / "deliveries.jsonl")
    before = deliveries.read_text().count("poison-redrive")
    moved = console.post("/api/queues/tasks/redrive", json={})
    assert moved.json() == {"moved": dead_now}
    eventually(lambda: deliveries.read_text().count("poison-redrive") > before, "the consumer gets it again")
    eventually(lambda: dead() == dead_now, "and, failing again, it is back in the DLQ")
    assert console.post("/api/queues/nope/redrive", json={}).status_code == 404


def test_a_schedule_runs_from_the_console(console_lab: DevStack, console: httpx.Client) -> None:
    schedules = console.get("/api/schedules").json()["schedules"]
    assert len(schedules) == 1 and schedules[0]["expression"] == "rate(1 day)" and schedules[0]["next_run"]
    key = schedules[0]["key"]
    ran = console.post("/api/schedules/run", params={"key": key}, json={})
    assert ran.status_code == 200 and ran.json()["error"] is None and ran.json()["request_id"]
    assert "Scheduled Event" in (console_lab.root / "deliveries.jsonl").read_text()
    last = console.get("/api/schedules").json()["schedules"][0]["last_run"]
    assert last["manual"] is True and last["request_id"] == ran.json()["request_id"]
    assert console.post("/api/schedules/run", params={"key": "nope"}, json={}).status_code == 404


def test_tables_and_buckets_are_browsable_and_read_only(console_lab: DevStack, console: httpx.Client) -> None:
    state = console_lab.dev_state()
    dynamodb, s3 = aws_client(state, "dynamodb"), aws_client(state, "s3")
    dynamodb.put_item(TableName="clab-dev-notes", Item={"id": {"S": "n-1"}, "n": {"N": "3"},
                                                        "api_key": {"S": "key-value-123"}})  # fmt: skip
    s3.put_object(Bucket=_bucket(console), Key="in/a.txt", Body=b"hello password=hunter22")
    assert {t["name"] for t in console.get("/api/tables").json()["tables"]} == {"notes"}
    items = console.get("/api/tables/notes/items").json()
    assert items["items"] == [{"id": "n-1", "n": 3, "api_key": "•••• (masked, 13 chars)"}] and items["next"] is None
    assert (
        console.get("/api/tables/notes/items", params={"reveal": "1"}).json()["items"][0]["api_key"] == "key-value-123"
    )
    top = console.get("/api/buckets/uploads/objects").json()
    assert top["prefixes"] == ["in/"] and top["objects"] == []
    inside = console.get("/api/buckets/uploads/objects", params={"prefix": "in/"}).json()
    assert [o["key"] for o in inside["objects"]] == ["in/a.txt"] and inside["objects"][0]["size"] == 23
    shown = console.get("/api/buckets/uploads/object", params={"key": "in/a.txt"}).json()
    assert shown["text"].startswith("hello password=••••") and shown["truncated"] is False
    assert console.get("/api/buckets/uploads/object", params={"key": "missing"}).status_code == 404
    for method, path in (("POST", "/api/tables/notes/items"), ("DELETE", "/api/buckets/uploads/object"),
                         ("PUT", "/api/tables/notes/items")):  # fmt: skip
        assert console.request(method, path, json={}).status_code == 405
    assert console.get("/api/tables/nope/items").status_code == 404


def _bucket(console: httpx.Client) -> str:
    return str(next(b["aws_name"] for b in console.get("/api/buckets").json()["buckets"] if b["name"] == "uploads"))


def test_logs_filter_by_service_level_and_request_id(console_lab: DevStack, console: httpx.Client) -> None:
    sent = console_lab.client.get("/app/logged")
    request_id = sent.headers["apigw-requestid"]
    function_id = eventually(lambda: detail(console, request_id)["invocation"], "invoked")["request_id"]
    warnings = eventually(lambda: console.get("/api/logs", params={"service": "app", "level": "WARNING",
                          "request_id": function_id[:8]}).json()["logs"], "the function's warning")  # fmt: skip
    assert len(warnings) == 1 and "issued token" in warnings[0]["line"] and TOKEN not in warnings[0]["line"]
    assert warnings[0]["level"] == "WARNING" and warnings[0]["source"] == "app"
    api = console.get("/api/logs", params={"service": "api", "request_id": request_id}).json()["logs"]
    assert [line["source"] for line in api] == ["api"] and "/app/logged 200" in api[0]["line"]
    assert console.get("/api/logs", params={"limit": "x"}).status_code == 400


def test_the_live_stream_sends_requests_logs_and_figures_as_they_happen(
    console_lab: DevStack, console: httpx.Client
) -> None:
    seen: dict[str, list[Any]] = {}
    with console.stream("GET", "/api/stream", timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        sent = console_lab.client.get("/app/streamed")
        request_id = sent.headers["apigw-requestid"]
        deadline = time.monotonic() + 15
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind is not None:
                seen.setdefault(kind, []).append(json.loads(line.removeprefix("data: ")))
            requests = [r["id"] for r in seen.get("request", [])]
            if (request_id in requests and "functions" in seen and "queues" in seen) or time.monotonic() > deadline:
                break
    assert request_id in [r["id"] for r in seen.get("request", [])], seen.keys()
    assert any(line["request_id"] == request_id for line in seen["log"])
    assert "app" in {f["key"] for f in seen["functions"][-1]["functions"]}
    assert seen["queues"][-1]["queues"][0]["name"] == "tasks"


def raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("content-length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_it_refuses_other_hosts_other_origins_and_non_json_posts(console_lab: DevStack) -> None:
    port, own = console_lab.console_port, f"127.0.0.1:{console_lab.console_port}"
    assert raw(port, "GET", "/api/requests", {"host": own})[0] == 200
    assert (
        raw(port, "GET", "/api/requests", {"host": f"localhost:{port}", "origin": f"http://localhost:{port}"})[0] == 200
    )
    status, body = raw(port, "GET", "/api/requests", {"host": f"attacker.example:{port}"})
    assert status == 403 and b"Host" in body
    assert raw(port, "GET", "/api/requests", {})[0] == 403
    assert raw(port, "GET", "/api/stream", {"host": own, "origin": "https://attacker.example"})[0] == 403
    assert raw(port, "POST", "/api/queues/tasks/redrive", {"host": own, "origin": "null"}, b"{}")[0] == 403
    assert raw(port, "GET", "/", {"host": own, "sec-fetch-site": "cross-site"})[0] == 403
    status, body = raw(port, "POST", "/api/queues/tasks/redrive", {"host": own, "content-type": "text/plain"}, b"{}")
    assert status == 415 and json.loads(body)["message"]
    page = httpx.get(console_lab.console_url)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert console_lab.dev_state().console == console_lab.console_url
    assert httpx.get(f"{console_lab.console_url}/static/..%2Fserver.py").status_code == 404


def test_the_api_404_links_the_console_for_browsers_only(console_lab: DevStack) -> None:
    page = console_lab.client.get("/nowhere", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and console_lab.console_url in page.text
    plain = console_lab.client.get("/nowhere")
    assert plain.status_code == 404 and plain.content == b'{"message":"Not Found"}'
