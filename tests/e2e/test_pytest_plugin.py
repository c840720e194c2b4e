"""The pytest plugin as a team adopting Stratus uses it: a project of its own, whose tests ask for
`stratus_cloud`, `stratus_fresh` and `stratus_service`, run by pytest in a subprocess (the plugin comes in through
its entry point, as in any environment that has Stratus)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

MANIFEST = """
[project]
name = "plug"

[services.notes]
kind = "lambda"
path = "/notes"
timeout = 1
uses = { notes = "read-write", tasks = "send", attachments = "read-write" }
consumes = [{ queue = "tasks", handler = "notes.jobs.handler", batch_size = 10 }]
schedules = [{ rate = "1 day", handler = "notes.jobs.tick" }]

[queues.tasks]
visibility_timeout = 1
max_receive_count = 2

[tables.notes]
hash_key = "note_id"

[buckets.attachments]
"""

APP = """
import os

import boto3
from stratus_common.app import create_app
from stratus_common.lambda_handler import make_handler

app = create_app("Notes", service="notes")


@app.get("/table")
def table():
    return {"table": os.environ["NOTES_TABLE_NAME"]}


@app.post("/items/{note_id}")
def put(note_id: str):
    boto3.client("dynamodb").put_item(TableName=os.environ["NOTES_TABLE_NAME"], Item={"note_id": {"S": note_id}})
    return {"note_id": note_id}


@app.get("/items/{note_id}")
def get(note_id: str):
    item = boto3.client("dynamodb").get_item(TableName=os.environ["NOTES_TABLE_NAME"], Key={"note_id": {"S": note_id}})
    return {"found": "Item" in item}


handler = make_handler(app)
"""

JOBS = """
def handler(event, context):
    failures = []
    for record in event["Records"]:
        print("handling", record["body"])
        if record["body"].startswith("bad"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def tick(event, context):
    print("tick from", event["source"])
    return {"ticked": event["detail-type"]}
"""

TESTS = """
import json


def test_a_request_through_the_api(stratus_cloud):
    assert stratus_cloud.local
    response = stratus_cloud.http.post("/notes/items/first")
    assert response.status_code == 200, response.text
    assert stratus_cloud.http.get("/notes/items/first").json() == {"found": True}
    assert "POST /notes/items/first" in stratus_cloud.wait_log("POST /notes/items/first")


def test_fresh_empties_what_the_test_before_wrote(stratus_fresh):
    assert stratus_fresh.http.get("/notes/items/first").json() == {"found": False}
    table = stratus_fresh.name("notes")
    assert stratus_fresh.aws("dynamodb").scan(TableName=table)["Count"] == 0


def test_a_failing_message_ends_in_the_dlq_and_a_good_one_does_not(stratus_cloud):
    stratus_cloud.send("tasks", "good-1")
    stratus_cloud.send("tasks", "bad-1")
    drained = stratus_cloud.drain("tasks", timeout=60)
    assert drained.dead_lettered == 1
    assert stratus_cloud.dead_letters("tasks") == ["bad-1"]
    logs = stratus_cloud.logs("notes")
    assert logs.count("handling bad-1") == 2 and logs.count("handling good-1") == 1


def test_a_schedule_fires(stratus_cloud):
    fired = stratus_cloud.trigger("notes.tick")
    assert fired.function_error is None
    assert fired.json() == {"ticked": "Scheduled Event"}
    assert "tick from aws.events" in stratus_cloud.wait_log("tick from", service="notes")


def test_logs_are_the_current_tests_only(stratus_cloud):
    assert "handling" not in stratus_cloud.logs()


def test_invoke_and_aws_clients(stratus_cloud):
    event = {"version": "2.0", "routeKey": "ANY /notes/{proxy+}", "rawPath": "/notes/table", "rawQueryString": "",
             "headers": {"host": "x"}, "isBase64Encoded": False, "pathParameters": {"proxy": "table"},
             "requestContext": {"http": {"method": "GET", "path": "/notes/table", "sourceIp": "127.0.0.1",
                                         "protocol": "HTTP/1.1", "userAgent": "t"}, "stage": "$default",
                                "requestId": "r", "routeKey": "ANY /notes/{proxy+}", "accountId": "1", "apiId": "a",
                                "domainName": "x", "domainPrefix": "x", "time": "t", "timeEpoch": 0}}
    answer = stratus_cloud.invoke("notes", event)
    assert json.loads(answer.json()["body"]) == {"table": "plug-dev-notes"}
    s3 = stratus_cloud.aws("s3")
    s3.put_object(Bucket=stratus_cloud.name("attachments"), Key="a.txt", Body=b"x")


def test_one_service_in_process(stratus_service):
    client = stratus_service("notes")
    assert client.get("/table").json() == {"table": "plug-dev-notes"}
    assert client.post("/items/second").status_code == 200
    assert client.get("/items/second").json() == {"found": True}
"""


QUIET_PLUGINS = ("-p", "no:schemathesis", "-p", "no:hypothesispytest")
"""Plugins of this environment the project does not use: loading them costs each pytest ~4 s."""


def _project(root: Path, manifest: str = MANIFEST) -> Path:
    root.mkdir(parents=True)
    (root / "stratus.toml").write_text(textwrap.dedent(manifest))
    package = root / "services" / "notes" / "notes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(APP)
    (package / "jobs.py").write_text(JOBS)
    (root / "tests").mkdir()
    (root / "tests" / "test_features.py").write_text(TESTS)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return root


def _pytest(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *QUIET_PLUGINS, *args], cwd=root, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_fixture_gives_a_project_its_stack_once_with_queues_schedules_logs_and_fresh(tmp_path: Path) -> None:
    root = _project(tmp_path / "plug")
    done = _pytest(root)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "7 passed" in done.stdout
    # the session's stack kept its state out of the project, and stopped
    assert not (root / ".stratus").exists()


def test_a_bad_manifest_fails_the_session_with_its_one_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "plug", MANIFEST.replace('kind = "lambda"', 'kind = "lamda"'))
    started = time.monotonic()
    done = _pytest(root, "tests/test_features.py::test_a_request_through_the_api", "tests/test_features.py")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "stratus_cloud:" in line]
    assert "services.notes.kind" in line
    assert time.monotonic() - started < 60  # not a timeout per test


def test_a_port_in_use_fails_the_session_with_its_one_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "plug")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _pytest(root, "--stratus-port", str(port))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "stratus_cloud:" in line]
    assert f"port {port}" in line and "in use" in line
    assert "passed" not in done.stdout


def test_a_url_that_is_no_stratus_stack_is_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path / "plug")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    done = _pytest(root, "--stratus-url", f"http://127.0.0.1:{port}")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "stratus_cloud:" in line]
    assert f"cannot reach http://127.0.0.1:{port}" in line


def test_attach_uses_the_projects_running_stratus_dev(tmp_path: Path) -> None:
    from tests.e2e.devstack import DevStack

    root = _project(tmp_path / "plug")
    # WHEN nothing runs, attaching is one error
    alone = _pytest(root, "--stratus-attach", "tests/test_features.py::test_a_request_through_the_api")
    assert alone.returncode == pytest.ExitCode.USAGE_ERROR, alone.stdout
    assert "stratus_cloud: no local stack runs here" in alone.stdout
    # WHEN the developer's stack runs, the tests use it: its log shows their requests
    stack = DevStack(root)
    try:
        done = _pytest(root, "--stratus-attach", "tests/test_features.py::test_a_request_through_the_api")
        assert done.returncode == 0, done.stdout[-3000:]
        stack.wait_log("POST /notes/items/first")
    finally:
        stack.stop()
