"""`stratus dev` starts, refuses bad input before starting anything, and stops without leaving a process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from stratus.local.processes import free_port
from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_box, make_lab

pytestmark = pytest.mark.e2e


def postmaster_pid(root: Path, database: str) -> int:
    return int((root / ".stratus" / "postgres" / database / "postmaster.pid").read_text().split()[0])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_process_the_stack_started(tmp_path: Path, sig: int) -> None:
    # GIVEN a running stack with Lambdas, moto and PostgreSQL
    root = make_lab(tmp_path)
    stack = DevStack(root)
    try:
        assert stack.client.get("/lab/echo").status_code == 200
        children = stack.descendants()
        postgres = psutil.Process(postmaster_pid(root, "records"))
    finally:
        # WHEN it gets SIGINT (Ctrl-C) or SIGTERM
        code = stack.stop(sig)
    # moto, and one warm environment for each Lambda but `broken` (whose init failed)
    assert len(children) == 4, children
    # THEN it exits cleanly and nothing it started is left running
    assert code == 0, stack.output()
    time.sleep(0.2)
    alive = [p for p in [*children, postgres] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not (root / ".stratus" / "dev.json").exists()


def test_the_data_of_a_database_survives_a_restart_and_fresh_empties_it(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    stack = DevStack(root)
    try:
        assert stack.client.get("/lab/db").json() == {"visits": 1}
        assert stack.client.get("/lab/db").json() == {"visits": 2}
    finally:
        stack.stop()
    again = DevStack(root)
    try:
        assert again.client.get("/lab/db").json() == {"visits": 3}
    finally:
        again.stop()
    fresh = DevStack(root, "--fresh")
    try:
        assert fresh.client.get("/lab/db").json() == {"visits": 1}
    finally:
        fresh.stop()


@pytest.mark.parametrize(("busy_option", "what"), [("--port", "the HTTP API"), ("--console-port", "the local console")])
def test_a_port_in_use_is_named_with_a_hint_and_nothing_starts(tmp_path: Path, busy_option: str, what: str) -> None:
    root = make_lab(tmp_path, databases=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = {"--port": str(free_port()), "--invoke-port": str(free_port()), "--console-port": str(free_port())}
        ports[busy_option] = str(port)
        done = subprocess.run(
            [sys.executable, "-m", "stratus", "dev", *(x for pair in ports.items() for x in pair)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use ({what})" in done.stderr
    said = " ".join(done.stderr.split())  # as rich wrapped it
    assert "hint:" in said and f"pass {busy_option} with another port" in said
    assert "Traceback" not in done.stderr
    assert not (root / ".stratus" / "postgres").exists()


def test_a_second_stack_in_the_same_project_refuses_and_leaves_the_first_running(tmp_path: Path) -> None:
    # GIVEN a running stack
    root = make_lab(tmp_path, databases=False)
    stack = DevStack(root)
    try:
        state = (root / ".stratus" / "dev.json").read_text()
        # WHEN a second `stratus dev` starts in the same project, on other ports
        done = subprocess.run(
            [sys.executable, "-m", "stratus", "dev", "--port", "0", "--invoke-port", "0"],
            cwd=root, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        # THEN it refuses in one line naming the running one, and the first keeps its state and answers
        assert done.returncode == 1, done.stderr
        assert f"stratus dev already runs for this project (pid {stack.proc.pid}, {stack.url})" in done.stderr
        assert "Traceback" not in done.stderr
        assert (root / ".stratus" / "dev.json").read_text() == state
        assert stack.client.get("/lab/bare").status_code == 200
    finally:
        stack.stop()
    # AND once the first has stopped, the next one starts
    again = DevStack(root)
    again.stop()


def test_an_invalid_manifest_lists_its_problems_and_starts_nothing(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    manifest = root / "stratus.toml"
    manifest.write_text(
        manifest.read_text().replace("memory = 256", "memory = 64").replace("timeout = 2", "timeout = 0")
    )
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "dev", "--port", "0"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "stratus.toml: services.lab.memory: must be 128–10240 MB (got 64)" in done.stderr
    assert "stratus.toml: services.lab.timeout: must be 1–900 s (got 0)" in done.stderr
    assert not (root / ".stratus").exists()


def test_stage_throttling_answers_429_past_the_burst(tmp_path: Path) -> None:
    # GIVEN a stage that allows a burst of 3 and refills one token every 1,000 s
    root = make_lab(tmp_path, throttle="throttle = { rate = 0.001, burst = 3 }", databases=False)
    stack = DevStack(root)
    try:
        statuses = [stack.client.get("/lab/bare").status_code for _ in range(5)]
        limited = stack.client.get("/lab/bare")
    finally:
        stack.stop()
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    assert limited.json() == {"message": "Too Many Requests"}


def test_a_body_over_10_mb_is_refused_with_413(tmp_path: Path) -> None:
    root = make_lab(tmp_path, databases=False)
    # (and `--no-iam`: the session enforces no IAM, so what the lab did not declare is not refused)
    stack = DevStack(root, "--no-iam")
    try:
        too_big = stack.client.post("/lab/echo", content=b"x" * (10 * 1024 * 1024 + 1))
        fits = stack.client.post("/lab/bare", content=b"x" * 1024)
        undeclared = stack.client.get("/lab/aws", params={"call": "undeclared"})
    finally:
        stack.stop()
    assert too_big.status_code == 413
    assert fits.status_code == 200
    assert "IAM off (--no-iam)" in stack.output()
    assert undeclared.json() == {"result": "written"}


def test_an_unhealthy_container_is_restarted_and_routed_again(tmp_path: Path) -> None:
    # GIVEN a container service health-checked every second, unhealthy after 2 failures
    root = make_box(tmp_path)
    stack = DevStack(root)
    try:
        first = stack.client.get("/box/anything")
        assert first.status_code == 200
        assert first.json()["path"] == "/anything"  # /box/{proxy+} -> /{proxy}
        assert stack.client.get("/box").json()["path"] == "/"
        # WHEN its health check starts failing
        (root / "sick").touch()
        deadline = time.monotonic() + 20
        while "unhealthy after 2 failed health checks; restarting" not in stack.logs():
            assert time.monotonic() < deadline, stack.output()
            time.sleep(0.1)
        (root / "sick").unlink()
        # THEN a new process replaces it and the API reaches the new one
        while True:
            response = stack.client.get("/box/again")
            if response.status_code == 200 and response.json()["pid"] != first.json()["pid"]:
                break
            assert time.monotonic() < deadline + 10, stack.output()
            time.sleep(0.1)
    finally:
        stack.stop()


def wait_until(condition: Callable[[], bool], timeout: float, stack: DevStack) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, stack.output()[-4000:]
        time.sleep(0.05)


def test_saving_a_handler_reloads_only_its_service(tmp_path: Path) -> None:
    # GIVEN a running stack with two Lambda services
    root = make_lab(tmp_path, databases=False)
    stack = DevStack(root)
    try:
        lab_pid = stack.client.get("/lab/echo").json()["pid"]
        slow_pid = stack.client.get("/slow/echo").json()["pid"]
        # WHEN the lab service's code changes
        handler = root / "services" / "lab" / "lab" / "main.py"
        handler.write_text(handler.read_text().replace('"slept"', '"slept anew"'))
        saved = time.monotonic()
        # THEN within a second or so the next lab invocation cold-starts on the new code
        wait_until(lambda: stack.client.get("/lab/sleep?s=0").text == "slept anew", 5, stack)
        assert time.monotonic() - saved < 3
        assert stack.client.get("/lab/echo").json()["pid"] != lab_pid
        # `slow` runs the same code from the same directory, so it reloaded too; `single` did not serve yet
        assert "lab: code changed, reloading" in stack.logs()
        assert stack.client.get("/slow/echo").json()["pid"] != slow_pid
    finally:
        stack.stop()


def test_a_service_added_to_the_manifest_is_routed_without_a_restart(tmp_path: Path) -> None:
    root = make_lab(tmp_path, databases=False)
    stack = DevStack(root)
    try:
        assert stack.client.get("/extra/bare").status_code == 404
        manifest = root / "stratus.toml"
        # WHEN a service and a queue are declared while the stack runs
        manifest.write_text(
            manifest.read_text()
            + '\n[services.extra]\nkind = "lambda"\npath = "/extra"\nsource = "services/lab"\n'
            + 'handler = "lab.main.handler"\nuses = { later = "send" }\n\n[queues.later]\n'
        )
        # THEN it is routed, and what it uses is provisioned
        wait_until(lambda: stack.client.get("/extra/bare").status_code == 200, 10, stack)
        env = stack.client.get("/extra/echo").json()["env"]
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "lab-dev-extra"
        # AND it runs as a role of its own, whose policy grants what it declared
        assert stack.client.get("/extra/aws", params={"call": "send-later"}).json() == {"result": "sent"}
        assert stack.client.get("/lab/bare").status_code == 200
        # AND an invalid edit is reported and changes nothing
        manifest.write_text(manifest.read_text().replace('path = "/extra"', 'path = "/lab"'))
        wait_until(lambda: "stratus.toml not applied" in stack.logs(), 10, stack)
        assert stack.client.get("/extra/bare").status_code == 200
    finally:
        stack.stop()


SLOW_INIT = """
import time

time.sleep(1.5)  # a slow import: the init phase lasts a while


def handler(event, context):
    return {"statusCode": 200, "body": "ready"}
"""


def test_an_environment_killed_during_init_does_not_break_the_function(tmp_path: Path) -> None:
    # GIVEN a function whose init takes 1.5 s, and no warm environment (the one started at launch is killed)
    root = make_lab(tmp_path, databases=False)
    package = root / "services" / "slowinit" / "slowinit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(SLOW_INIT)
    manifest = root / "stratus.toml"
    manifest.write_text(manifest.read_text() + '\n[services.slowinit]\nkind = "lambda"\npath = "/slowinit"\n')
    stack = DevStack(root)

    def environments() -> list[psutil.Process]:
        return [p for p in stack.descendants() if "slowinit.main.handler" in " ".join(p.cmdline())]

    try:
        for process in environments():
            process.kill()
        time.sleep(0.3)
        # WHEN the next request's cold start is killed in the middle of its init
        killer = threading.Timer(0.7, lambda: [p.kill() for p in environments()])
        killer.start()
        first = stack.client.get("/slowinit/x")
        killer.join()
        # THEN that request fails as Lambda reports it, and the one after starts a new environment and succeeds
        assert first.status_code == 500
        second = stack.client.get("/slowinit/x")
        assert second.status_code == 200 and second.text == "ready"
    finally:
        stack.stop()
