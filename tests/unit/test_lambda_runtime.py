"""A Lambda function in-process (LambdaFunction, real runtime processes): its log, limits and Runtime API.

What Lambda documents for an invocation's log (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html):
``INIT_START`` on a cold start, then ``START``, the function's own output, ``END`` and ``REPORT``; the Invoke API's
``X-Amz-Log-Result`` holds that invocation's lines. These tests run the real runtime client (awslambdaric) as
``stratus dev`` does, so a failure points at the runtime modules rather than at the whole stack.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import os
import re
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from stratus.local.logs import LogSink
from stratus.local.runtime.api import Invocation, serve
from stratus.local.runtime.environment import RESPONSE_LIMIT, Environment
from stratus.local.runtime.function import FunctionConfig, LambdaFunction

HANDLER = """
import json, sys, time


def handler(event, context):
    action = event.get("action")
    if action == "print":
        print("hello from the probe")
        return {"ok": True}
    if action == "print-much":
        for i in range(event["n"]):
            print(f"line {i:05d} " + "." * 40)
        return {"ok": True}
    if action == "print-no-newline":
        print("no newline", end="")
        return {"ok": True}
    if action == "stderr":
        sys.stderr.write("to stderr\\n")
        return {"ok": True}
    if action == "raise":
        raise RuntimeError("boom")
    if action == "sleep":
        time.sleep(event["s"])
        return {"ok": True}
    if action == "exit":
        print("leaving")
        sys.exit(3)
    if action == "big":
        return {"data": "x" * event["n"]}
    if action == "trap":  # a handler for SIGUSR1 that says when it ran
        import os, signal
        signal.signal(signal.SIGUSR1, lambda *_: print("signal handled", flush=True))
        return {"pid": os.getpid()}
    if action == "context":
        cc = context.client_context
        return {"custom": cc.custom if cc else None, "request_id": context.aws_request_id}
    return {"event": event}
"""


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fn")
    (root / "probe.py").write_text(textwrap.dedent(HANDLER))
    return root


class Harness:
    def __init__(self, task_root: Path, timeout: int = 3) -> None:
        self.out = io.StringIO()
        self.sink = LogSink(self.out, colour=False, buffered=False)
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "demo-dev-probe",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/demo-dev-probe",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/02/[$LATEST]0",
            "AWS_REGION": "eu-west-1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",  # as the stack sets it: awslambdaric's thread-polling case
            "LAMBDA_TASK_ROOT": str(task_root),
        }
        self.function = LambdaFunction(
            FunctionConfig(
                name="demo-dev-probe", source="probe", handler="probe.handler", task_root=task_root, memory=128,
                timeout=timeout, reserved_concurrency=None, environ=environ,
                arn="arn:aws:lambda:eu-west-1:000000000000:function:demo-dev-probe",
                log_group="/aws/lambda/demo-dev-probe",
            ),
            self.sink,
        )  # fmt: skip

    async def invoke(self, event: dict[str, object], **kwargs: str) -> tuple[dict[str, object], str | None, str]:
        result = await self.function.invoke(json.dumps(event).encode(), **kwargs)  # type: ignore[arg-type]
        return json.loads(result.payload), result.function_error, result.request_id

    def lines(self, request_id: str | None = None) -> list[str]:
        lines = [line.split("| ", 1)[1] for line in self.out.getvalue().splitlines()]
        if request_id is None:
            return lines
        return [line for line in lines if request_id[:8] in line or request_id in line]


def with_function(body: Callable[[Harness], Awaitable[None]]) -> Callable[[Path], None]:
    """A test of ``body`` against a fresh function (its own event loop and runtime processes)."""

    def test(task_root: Path) -> None:
        async def main() -> None:
            harness = Harness(task_root)
            try:
                await body(harness)
            finally:
                await harness.function.close()

        asyncio.run(main())

    test.__name__, test.__doc__ = body.__name__, body.__doc__
    return test


@with_function
async def test_a_fast_handlers_last_print_is_logged_before_end_and_in_its_tail(fn: Harness) -> None:
    # Nine fast calls in a row: the output raced the result and lost 6 of 9 before.
    for _ in range(9):
        _, error, request_id = await fn.invoke({"action": "print"})
        assert error is None
        own = [line.split(" ", 1)[1] for line in fn.lines(request_id)]
        assert own[0].startswith("START RequestId:")
        assert own[1] == "hello from the probe"
        assert own[2].startswith("END RequestId:")
        assert own[3].startswith("REPORT RequestId:")
        assert b"hello from the probe\n" in fn.function.logs_of(request_id)


@with_function
async def test_everything_printed_before_the_result_is_logged_before_end(fn: Harness) -> None:
    for _ in range(3):
        _, _, request_id = await fn.invoke({"action": "print-much", "n": 3000})
        own = [line.split(" ", 1)[1] for line in fn.lines(request_id)]
        end = next(i for i, line in enumerate(own) if line.startswith("END RequestId"))
        printed = [line for line in own if line.startswith("line ")]
        assert len(printed) == 3000 and own.index(printed[-1]) < end


@with_function
async def test_output_without_a_newline_and_stderr_belong_to_the_invocation(fn: Harness) -> None:
    _, _, first = await fn.invoke({"action": "print-no-newline"})
    _, _, second = await fn.invoke({"action": "stderr"})
    assert "no newline" in fn.function.logs_of(first).decode()
    assert "to stderr" in fn.function.logs_of(second).decode()
    assert "to stderr" not in fn.function.logs_of(first).decode()


@with_function
async def test_an_unhandled_exceptions_traceback_is_logged_before_end(fn: Harness) -> None:
    payload, error, request_id = await fn.invoke({"action": "raise"})
    assert error == "Unhandled"
    assert payload["errorType"] == "RuntimeError"
    own = [line.split(" ", 1)[1] for line in fn.lines(request_id)]
    end = next(i for i, line in enumerate(own) if line.startswith("END RequestId"))
    assert any("boom" in line for line in own[:end]), own
    assert "boom" in fn.function.logs_of(request_id).decode()
    report = own[-1]
    assert report.startswith("REPORT") and "Status:" not in report  # a handled error: the environment is fine


@with_function
async def test_a_cold_start_logs_init_start_first_and_bills_its_init(fn: Harness) -> None:
    _, _, first = await fn.invoke({})
    _, _, second = await fn.invoke({})
    lines = fn.lines()
    assert lines[0].startswith("INIT_START Runtime Version: python:")
    assert "\tRuntime Version ARN: arn:aws:lambda:eu-west-1::runtime:" in lines[0]
    assert sum(line.startswith("INIT_START") for line in lines) == 1  # the second call was warm
    cold = next(line for line in fn.lines(first) if "REPORT" in line)
    fields = dict(re.findall(r"([A-Za-z ]+): ([\d.]+) m?s", cold))
    billed = float(fields["Billed Duration"])
    assert billed >= float(fields["Duration"]) + float(fields["Init Duration"]) - 1
    warm = next(line for line in fn.lines(second) if "REPORT" in line)
    assert "Init Duration" not in warm


def test_a_timeout_is_logged_with_its_time_and_reported_as_such(task_root: Path) -> None:
    harness = Harness(task_root, timeout=1)

    async def main() -> tuple[dict[str, object], str | None, str]:
        try:
            return await harness.invoke({"action": "sleep", "s": 5})
        finally:
            await harness.function.close()

    payload, error, request_id = asyncio.run(main())
    assert error == "Unhandled" and payload["errorType"] == "Sandbox.Timedout"
    line = next(line for line in harness.lines(request_id) if "Task timed out" in line)
    assert re.search(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 1\.\d\d seconds", line
    )
    report = next(line for line in harness.lines(request_id) if "REPORT" in line)
    assert report.endswith("\tStatus: timeout")


@with_function
async def test_a_runtime_that_exits_is_reported_as_an_error(fn: Harness) -> None:
    payload, error, request_id = await fn.invoke({"action": "exit"})
    assert error == "Unhandled" and payload["errorType"] == "Runtime.ExitError"
    own = [line.split(" ", 1)[1] for line in fn.lines(request_id)]
    assert own.index("leaving") < next(i for i, line in enumerate(own) if line.startswith("END"))
    assert own[-1].endswith("\tStatus: error\tError Type: Runtime.ExitError")


@with_function
async def test_a_signal_handler_of_the_function_runs_while_its_environment_waits_for_the_next_event(
    fn: Harness,
) -> None:
    # awslambdaric (python3.12+) waits for the next event on a thread so that the main thread can run signal
    # handlers meanwhile; locally it waits on the main thread, in a socket read that signals interrupt.
    payload, error, _ = await fn.invoke({"action": "trap"})
    assert error is None
    pid = payload["pid"]
    assert isinstance(pid, int)
    await asyncio.sleep(0.2)  # the environment is now waiting for its next event
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        if "signal handled" in fn.lines():
            break
        await asyncio.sleep(0.02)
    assert "signal handled" in fn.lines()
    payload, error, _ = await fn.invoke({"action": "trap"})  # and it still serves the next event
    assert (error, payload["pid"]) == (None, pid)


def test_environments_share_the_stacks_session_in_process_groups_of_their_own(task_root: Path) -> None:
    # One session: Linux's autogroup scheduler gives each session an equal share of the CPU, so environments
    # in sessions of their own would each weigh as much as the whole local cloud. A group of their own: a kill
    # takes their children too.
    async def main() -> None:
        harness = Harness(task_root)
        try:
            payload, error, _ = await harness.invoke({"action": "trap"})
            pid = payload["pid"]
            assert error is None and isinstance(pid, int)
            assert os.getsid(pid) == os.getsid(0)
            assert os.getpgid(pid) == pid != os.getpgid(0)
        finally:
            await harness.function.close()

    asyncio.run(main())


@with_function
async def test_a_response_over_lambdas_limit_fails_the_invocation(fn: Harness) -> None:
    overhead = len(json.dumps({"data": ""}))
    payload, error, _ = await fn.invoke({"action": "big", "n": RESPONSE_LIMIT - overhead})
    assert error is None and len(payload["data"]) == RESPONSE_LIMIT - overhead  # exactly the limit: served
    payload, error, _ = await fn.invoke({"action": "big", "n": RESPONSE_LIMIT - overhead + 1})
    assert error == "Unhandled"
    assert payload == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    payload, error, _ = await fn.invoke({"action": "print"})  # the environment goes on serving
    assert error is None


@with_function
async def test_the_client_context_and_a_given_request_id_reach_the_handler(fn: Harness) -> None:
    payload, _, request_id = await fn.invoke(
        {"action": "context"},
        client_context='{"custom":{"k":"v\\tw"}}',
        request_id="4f5a1c3e-0000-4000-8000-000000000001",
    )
    assert payload == {"custom": {"k": "v\tw"}, "request_id": "4f5a1c3e-0000-4000-8000-000000000001"}
    assert request_id == "4f5a1c3e-0000-4000-8000-000000000001"


# ------------------------------------------------------------------------------------------ the Runtime API


async def _post(port: int, path: str, body: bytes) -> tuple[int, dict[str, str]]:
    def send() -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    return await asyncio.to_thread(send)


def test_the_runtime_api_refuses_a_second_result_an_unknown_id_and_an_oversize_response(tmp_path: Path) -> None:
    asyncio.run(_runtime_api_refusals(tmp_path))


async def _runtime_api_refusals(tmp_path: Path) -> None:
    env = Environment(
        handler="probe.handler", task_root=tmp_path, environ={}, log=lambda line, rid: None, on_exit=lambda e: None,
        argv=(sys.executable, "-c", "pass"),
    )  # fmt: skip
    server, port = await serve(env)
    try:
        first = Invocation("rid-1", b"{}", 0, "arn", "trace")
        env.invoke(first, 10, lambda inv: None)
        status, _ = await _post(port, "/2018-06-01/runtime/invocation/rid-1/response", b'{"a":1}')
        assert status == 202
        assert (await first.future).payload == b'{"a":1}'
        status, body = await _post(port, "/2018-06-01/runtime/invocation/rid-1/response", b'{"a":2}')
        assert status == 403 and body["errorType"] == "InvalidStateTransition"
        status, body = await _post(port, "/2018-06-01/runtime/invocation/nobody/response", b"{}")
        assert status == 400 and body["errorType"] == "InvalidRequestID"
        second = Invocation("rid-2", b"{}", 0, "arn", "trace")
        env.invoke(second, 10, lambda inv: None)
        status, body = await _post(port, "/2018-06-01/runtime/invocation/rid-2/response", b"x" * (RESPONSE_LIMIT + 1))
        assert status == 413
        assert body == {
            "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "RequestEntityTooLarge",
        }
        outcome = await second.future
        assert outcome.failed and json.loads(outcome.payload)["errorType"] == "Function.ResponseSizeTooLarge"
    finally:
        server.close()
