"""``stratus logs``: the local copy the log sink writes, and CloudWatch (with botocore's Stubber)."""

from __future__ import annotations

import datetime as dt
import io

import boto3
import pytest
from botocore.stub import Stubber

from stratus.deploy.logs import CloudWatchTail, follow_file, local_lines, log_group, parse_since
from stratus.errors import StratusError
from stratus.local.logs import LogSink
from stratus.manifest import parse_stack


@pytest.fixture
def stack(tmp_path):
    raw = {
        "project": {"name": "acme"},
        "services": {
            "worker": {"kind": "lambda", "path": "/worker"},
            "web": {"kind": "apprunner", "path": "/web"},
            "jobs": {"kind": "ecs-express", "path": "/jobs"},
        },
    }
    return parse_stack(raw, root=tmp_path, env="prod")


def test_the_log_sink_copies_each_source_to_its_own_file(tmp_path):
    screen = io.StringIO()
    sink = LogSink(screen, colour=False, buffered=False, log_dir=tmp_path / "logs")
    sink.write("worker", "START RequestId: 1", "11111111-2222")
    sink.write("web", "GET /health 200")
    sink.write("worker", "END RequestId: 1\n", "11111111-2222")
    sink.close()
    worker = (tmp_path / "logs" / "worker.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in worker] == ["11111111 START RequestId: 1", "11111111 END RequestId: 1"]
    assert (tmp_path / "logs" / "web.log").read_text().endswith(" GET /health 200\n")
    assert "worker   | 11111111 START" in screen.getvalue()  # the terminal still gets everything
    # a new run empties the copies
    again = LogSink(io.StringIO(), buffered=False, log_dir=tmp_path / "logs")
    again.write("worker", "fresh")
    again.close()
    assert (tmp_path / "logs" / "worker.log").read_text().endswith(" fresh\n")
    assert len((tmp_path / "logs" / "worker.log").read_text().splitlines()) == 1


def test_without_a_log_dir_nothing_is_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sink = LogSink(io.StringIO(), buffered=False)
    sink.write("worker", "line")
    sink.close()
    assert list(tmp_path.iterdir()) == []


def test_following_a_local_log_prints_new_lines_and_starts_over_after_a_restart(tmp_path):
    path = tmp_path / "worker.log"
    path.write_text("one\ntwo\npart")
    steps = iter(
        [
            lambda: path.write_text("one\ntwo\npartial done\nthree\n"),  # appended, the partial line completed
            lambda: path.write_text("restarted\n"),  # a new `stratus dev` emptied it
        ]
    )
    rounds = []

    def sleep(_seconds: float) -> None:
        step = next(steps, None)
        if step is not None:
            step()

    def keep_going() -> bool:
        rounds.append(1)
        return len(rounds) < 3

    lines = list(follow_file(path, follow=True, sleep=sleep, keep_going=keep_going))
    assert lines == ["one", "two", "partial done", "three", "restarted"]


def test_local_logs_of_a_stack_that_never_ran_say_how_to_get_them(stack):
    with pytest.raises(StratusError, match=r"no local logs for worker: .stratus/logs/worker.log does not exist"):
        local_lines(stack, "worker", follow=False)
    (stack.root / ".stratus" / "logs").mkdir(parents=True)
    (stack.root / ".stratus" / "logs" / "worker.log").write_text("a\nb\n")
    assert list(local_lines(stack, "worker", follow=False)) == ["a", "b"]
    with pytest.raises(StratusError, match="no service named 'nope'"):
        local_lines(stack, "nope", follow=False)


def _logs_client():
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    return client, stub


def test_each_kind_of_service_has_its_log_group(stack):
    client, stub = _logs_client()
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": "/aws/apprunner/acme-prod-web/0f1e/application"},
                       {"logGroupName": "/aws/apprunner/acme-prod-web/0f1e/service"}]},
        {"logGroupNamePrefix": "/aws/apprunner/acme-prod-web/"},
    )  # fmt: skip
    assert log_group(stack, "worker", client) == "/aws/lambda/acme-prod-worker"
    assert log_group(stack, "web", client) == "/aws/apprunner/acme-prod-web/0f1e/application"
    assert log_group(stack, "jobs", client) == "/aws/ecs/acme-prod-jobs"
    stub.assert_no_pending_responses()


def _event(event_id: str, ms: int, message: str) -> dict[str, object]:
    return {"eventId": event_id, "timestamp": ms, "message": message,
            "logStreamName": "2026/11/23/[$LATEST]abcdef0123456789", "ingestionTime": ms}  # fmt: skip


def test_cloudwatch_events_are_paged_then_followed_without_repeats():
    client, stub = _logs_client()
    group = "/aws/lambda/acme-prod-worker"
    start = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    start_ms = int(start.timestamp() * 1000)
    first = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
    stub.add_response("filter_log_events", {"events": [_event("1", start_ms + 5, "START")], "nextToken": "t"}, first)
    stub.add_response(
        "filter_log_events", {"events": [_event("2", start_ms + 9, "hello\n")]}, {**first, "nextToken": "t"}
    )
    # the next poll starts at the last event's millisecond, so that one comes again and is skipped
    again = {"logGroupName": group, "startTime": start_ms + 9, "interleaved": True}
    repeated = [_event("2", start_ms + 9, "hello"), _event("3", start_ms + 20, "END")]
    stub.add_response("filter_log_events", {"events": repeated}, again)
    polls = []
    tail = CloudWatchTail(client, group, start=start, sleep=polls.append, keep_going=lambda: not polls)
    lines = list(tail.lines(follow=True))
    assert [line.split(" ", 2)[2] for line in lines] == ["START", "hello", "END"]
    assert lines[0].startswith("2026-11-23T12:00:00.005Z abcdef01 ")
    assert polls == [2.0]
    stub.assert_no_pending_responses()


def test_a_missing_log_group_is_explained():
    client, stub = _logs_client()
    stub.add_client_error("filter_log_events", "ResourceNotFoundException", "The specified log group does not exist.")
    tail = CloudWatchTail(client, "/aws/lambda/x", start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(StratusError, match="log group /aws/lambda/x does not exist"):
        list(tail.lines(follow=False))


def test_since_takes_a_number_and_a_unit():
    assert parse_since("10m") == dt.timedelta(minutes=10)
    assert parse_since("2h") == dt.timedelta(hours=2)
    assert parse_since("30s") == dt.timedelta(seconds=30)
    with pytest.raises(StratusError, match="give a number and a unit"):
        parse_since("ten minutes")
