"""The local console's parts on their own: masking, log levels and filters, the recorder's bounds, the guard's
refusals, function statistics. The console as a whole (a running stack, a browser) is tested in
tests/e2e/test_console.py and tests/e2e/test_console_browser.py."""

from __future__ import annotations

import asyncio
import json

import pytest

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local.console import masking, recorder
from stratus.local.console.guard import allowed_hosts, refusal
from stratus.local.console.levels import at_least, level_of
from stratus.local.console.link import not_found_page
from stratus.local.console.recorder import Recorder
from stratus.local.console.server import log_filter
from stratus.local.console.views import detail, log_line, summary
from stratus.local.runtime.function import InvokeResult
from stratus.local.runtime.stats import FunctionStats
from stratus.local.tracing import AuthorizerTrace, RequestTrace

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"


def trace(request_id: str = "AAAAAAAAAAAAAAA=", body: bytes = b"", event: bytes | None = None) -> RequestTrace:
    request = HttpRequest(
        "POST",
        "/players/me",
        "token=abc123456&page=2",
        [("authorization", f"Bearer {JWT}"), ("content-type", "application/json"), ("cookie", "sid=s3cr3tvalue")],
        body,
        "127.0.0.1",
    )
    out = RequestTrace(request_id, request, 1.0)
    out.event = event
    out.response = HttpResponse(
        200, [("content-type", "application/json")], b'{"access_token":"' + JWT.encode() + b'"}'
    )
    return out


# ------------------------------------------------------------------------------------------- masking


def test_masking_hides_credentials_by_header_field_and_pattern_and_keeps_their_length() -> None:
    headers = masking.mask_headers([("authorization", "Bearer xyz"), ("x-api-key", "k" * 40), ("accept", "*/*")])
    assert headers[0] == ("authorization", "•••• (masked, 10 chars)")
    assert headers[1] == ("x-api-key", "•••• (masked, 40 chars)")
    assert headers[2] == ("accept", "*/*")
    value = masking.mask_value({"user": {"password": "hunter22", "name": "ada"}, "note": f"token {JWT} ok", "n": 3})
    assert value == {"user": {"password": "•••• (masked, 8 chars)", "name": "ada"},
                     "note": f"token •••• (masked, {len(JWT)} chars) ok", "n": 3}  # fmt: skip
    assert masking.mask_text("login with password=hunter22 now") == "login with password=•••• (masked, 8 chars) now"
    assert masking.mask_query("token=abc123456&page=2") == "token=•••• (masked, 9 chars)&page=2"
    assert "s3cr3t" not in masking.mask_cookie("sid=s3cr3tvalue")


def test_a_body_without_secrets_is_shown_byte_for_byte() -> None:
    body = '{"b": 1,   "a": [1, 2]}'
    assert masking.mask_body(body, "application/json") == body
    assert "hunter22" not in masking.mask_body('{"password": "hunter22"}', "application/json")
    assert "hunter22" not in masking.mask_body("user=ada&password=hunter22", "application/x-www-form-urlencoded")


def test_an_event_is_masked_by_its_parts_and_keeps_its_key_order() -> None:
    event = {"version": "2.0", "headers": {"authorization": "Bearer abc", "host": "x"}, "cookies": ["sid=abcdef"],
             "body": json.dumps({"refresh_token": "r" * 20}), "isBase64Encoded": False,
             "requestContext": {"authorizer": {"lambda": {"principalId": "p-1", "apiKey": "kkkkkkkk"}}}}  # fmt: skip
    shown = masking.mask_event(event)
    assert list(shown) == list(event)
    assert shown["headers"] == {"authorization": "•••• (masked, 10 chars)", "host": "x"}
    assert shown["cookies"] == ["sid=•••• (masked, 6 chars)"]
    assert "rrrr" not in shown["body"]
    assert shown["requestContext"]["authorizer"]["lambda"] == {"principalId": "p-1", "apiKey": "•••• (masked, 8 chars)"}
    assert event["headers"]["authorization"] == "Bearer abc"  # the kept event itself is untouched


def test_a_request_shown_masked_and_revealed() -> None:
    event = json.dumps({"headers": {"authorization": f"Bearer {JWT}"}, "body": None}).encode()
    kept = trace(event=event)
    kept.result = InvokeResult("fn-1", b"{}", None, 12.5, cold=True, init_ms=300.25)
    kept.authorizer = AuthorizerTrace("token", "allowed", cached=True, context={"sub": "u-1", "token": "tttttttt"})
    masked = json.dumps(detail(kept, [], reveal=False))
    assert JWT not in masked and "s3cr3t" not in masked and "abc123456" not in masked and "tttttttt" not in masked
    shown = detail(kept, [], reveal=True)
    assert JWT in json.dumps(shown) and shown["path"] == "/players/me?token=abc123456&page=2"
    assert shown["invocation"] == {"function": None, "request_id": "fn-1", "cold": True, "init_ms": 300.25,
                                   "duration_ms": 12.5, "error": None}  # fmt: skip
    assert shown["authorizer"]["cached"] is True and shown["authorizer"]["context"]["token"] == "tttttttt"


def test_a_binary_body_is_shown_as_base64_and_a_long_one_is_cut() -> None:
    shown = detail(trace(body=bytes(range(256)) * 2000), [], reveal=False)["request"]
    assert shown["base64"] is True and shown["truncated"] is True


# -------------------------------------------------------------------------------------- log levels


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('{"level":"ERROR","message":"x"}', "ERROR"),
        ('{"level":"warning","message":"x"}', "WARNING"),
        ('{"levelname":"DEBUG"}', "DEBUG"),
        ("[ERROR]\t2026-12-03T08:00:00Z\tabc\tsomething broke", "ERROR"),
        ("[WARNING]\t2026-12-03T08:00:00Z\tabc\tcareful", "WARNING"),
        ("Traceback (most recent call last):", "ERROR"),
        ("REPORT RequestId: x\tDuration: 1 ms\tStatus: timeout", "ERROR"),
        ("START RequestId: x Version: $LATEST", "INFO"),
        ("a message that mentions an error much later in the line, well past the start ERROR", "INFO"),
        ("{not json", "INFO"),
    ],
)
def test_log_levels(line: str, level: str) -> None:
    assert level_of(line) == level


def test_log_filter_by_service_level_and_request_id() -> None:
    line = {"source": "worker/jobs", "level": "WARNING", "request_id": "abcdef12-3456"}
    assert log_filter("worker", "", "")(line)
    assert log_filter("worker/jobs", "warning", "abcdef")(line)
    assert not log_filter("work", "", "")(line)
    assert not log_filter("", "ERROR", "")(line)
    assert not log_filter("", "", "bcd")(line)
    assert at_least("ERROR", "INFO") and not at_least("DEBUG", "INFO") and at_least("DEBUG", "bogus")


# ------------------------------------------------------------------------------------------ recorder


def test_the_recorder_keeps_the_last_requests_within_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "KEPT_BYTES", 100_000)
    kept = Recorder()
    for i in range(recorder.REQUESTS + 50):
        kept.record(trace(f"{i:015d}=", body=b"x" * 10))
    ids = [t.request_id for t in kept.requests()]
    assert len(ids) == recorder.REQUESTS and ids[0] == f"{recorder.REQUESTS + 49:015d}="
    kept.record(trace("big============", body=b"x" * 95_000))
    assert len(kept.requests()) < 60 and kept.requests()[0].request_id == "big============"
    assert kept.request("000000000000000=") is None


def test_the_recorder_keeps_the_last_log_lines_and_tells_subscribers() -> None:
    async def scenario() -> None:
        kept = Recorder()
        for i in range(recorder.LOG_LINES + 10):
            kept.log("api", f"line {i}\n", None)
        lines = list(kept.logs())
        assert len(lines) == recorder.LOG_LINES and lines[-1].line == f"line {recorder.LOG_LINES + 9}"
        assert not kept.watched
        with kept.subscribe() as subscription:
            kept.log("worker", "hello", "rid-1")
            kept.record(trace())
            kind, entry = await subscription.queue.get()
            assert kind == "log" and entry.source == "worker" and entry.request_id == "rid-1"
            assert (await subscription.queue.get())[0] == "request"
        assert not kept.watched

    asyncio.run(scenario())


def test_a_live_view_that_falls_behind_is_ended_not_grown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "SUBSCRIBER_BACKLOG", 5)

    async def scenario() -> None:
        kept = Recorder()
        with kept.subscribe() as subscription:
            for i in range(20):
                kept.log("api", f"line {i}", None)
            assert not kept.watched  # dropped once its backlog was full
            items = [subscription.queue.get_nowait() for _ in range(subscription.queue.qsize())]
            assert items[-1] is None and len(items) <= 5

    asyncio.run(scenario())


def test_log_lines_are_shown_masked_unless_revealed() -> None:
    kept = Recorder()
    kept.log("idp", f"issued {JWT}", "r-1")
    entry = next(kept.logs())
    assert JWT not in log_line(entry, reveal=False)["line"]
    assert log_line(entry, reveal=True)["line"] == f"issued {JWT}"


def test_summary_masks_secret_query_values() -> None:
    assert summary(trace(), reveal=False)["path"] == "/players/me?token=•••• (masked, 9 chars)&page=2"


# --------------------------------------------------------------------------------------------- guard


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"host": "127.0.0.1:9000"}, None),
        ({"host": "localhost:9000", "origin": "http://localhost:9000", "sec-fetch-site": "same-origin"}, None),
        ({"host": "rebound.example:9000"}, "Host"),
        ({}, "Host"),
        ({"host": "127.0.0.1:9001"}, "Host"),
        ({"host": "127.0.0.1:9000", "origin": "http://evil.example"}, "Origin"),
        ({"host": "127.0.0.1:9000", "origin": "null"}, "Origin"),
        ({"host": "127.0.0.1:9000", "origin": "https://127.0.0.1:9000"}, "Origin"),
        ({"host": "127.0.0.1:9000", "sec-fetch-site": "cross-site"}, "Sec-Fetch-Site"),
    ],
)
def test_the_guard_answers_only_its_own_address_and_pages(headers: dict[str, str], why: str | None) -> None:
    found = refusal(headers, allowed_hosts(9000))
    assert (found is None) if why is None else (found is not None and why in found)


def test_the_404_page_links_the_console_and_escapes_its_url() -> None:
    page = not_found_page('http://127.0.0.1:9002/"><script>')
    assert page.status == 404 and page.headers == [("content-type", "text/html; charset=utf-8")]
    assert b"<script>" not in page.body and b'{"message":"Not Found"}' in page.body


# --------------------------------------------------------------------------------------------- stats


def test_function_stats_count_and_keep_the_last_error() -> None:
    stats = FunctionStats()
    for ms in range(1, 101):
        stats.invoked(f"r{ms}", float(ms), cold=ms == 1, error_payload=None)
    error = json.dumps({"errorType": "KeyError", "errorMessage": "'id'", "stackTrace": ['  File "x.py"']}).encode()
    stats.invoked("r-bad", 5.0, cold=False, error_payload=error)
    stats.throttled()
    assert (stats.invocations, stats.errors, stats.throttles, stats.cold_starts) == (101, 1, 1, 1)
    assert stats.percentile(50) == 50.0 and stats.percentile(99) == 99.0
    assert stats.last_error is not None
    assert (stats.last_error.type, stats.last_error.message, stats.last_error.request_id) == (
        "KeyError",
        "'id'",
        "r-bad",
    )
    assert stats.last_error.trace == ('  File "x.py"',)
    assert FunctionStats().percentile(50) is None
