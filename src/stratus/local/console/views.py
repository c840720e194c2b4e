"""The console's JSON: requests, functions, schedules and log lines as its page (``static/app.js``) shows them.
Secrets are masked unless ``reveal`` (:mod:`.masking`)."""

from __future__ import annotations

import base64
import json
from datetime import UTC
from typing import TYPE_CHECKING, Any

from stratus.local.console import masking
from stratus.local.console.levels import level_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from stratus.local.console.recorder import LogLine
    from stratus.local.runtime.function import LambdaFunction
    from stratus.local.scheduler import ScheduledRule
    from stratus.local.tracing import RequestTrace
    from stratus.manifest.plan import Function, ServicePlan

SHOWN_BODY = 256 * 1024  # bytes of a body the console shows (what it keeps may be more)


def summary(trace: RequestTrace, *, reveal: bool) -> dict[str, Any]:
    request, result = trace.request, trace.result
    query = request.raw_query if reveal else masking.mask_query(request.raw_query)
    return {
        "id": trace.request_id,
        "time": trace.time,
        "method": request.method,
        "path": request.raw_path + (f"?{query}" if query else ""),
        "status": trace.response.status if trace.response else None,
        "route": trace.route,
        "service": trace.target,
        "ms": round(trace.elapsed_ms, 2),
        "cold": result.cold if result else None,
        "function_request_id": result.request_id if result else None,
    }


def detail(trace: RequestTrace, logs: Iterable[LogLine], *, reveal: bool) -> dict[str, Any]:
    """Everything about one request: its authorizer, event, response, timings and log lines."""
    out = summary(trace, reveal=reveal)
    out["request"] = _message(trace.request.headers, trace.request.body, reveal)
    response = trace.response
    out["response"] = None
    if response is not None:
        out["response"] = {"status": response.status, **_message(response.headers, response.body, reveal)}
    auth = trace.authorizer
    out["authorizer"] = None
    if auth is not None:
        context = auth.context if reveal or auth.context is None else masking.mask_value(auth.context)
        out["authorizer"] = {
            "name": auth.name, "outcome": auth.outcome, "cached": auth.cached, "context": context,
            "function_request_id": auth.function_request_id,
        }  # fmt: skip
    out["event"] = _event(trace.event, reveal)
    result = trace.result
    out["invocation"] = None
    if result is not None:
        out["invocation"] = {
            "function": trace.function, "request_id": result.request_id, "cold": result.cold,
            "init_ms": round(result.init_ms, 2) if result.init_ms is not None else None,
            "duration_ms": round(result.duration_ms, 2),
            "error": _error_text(result.payload) if result.function_error else None,
        }  # fmt: skip
    ids = {trace.request_id, *(i for i in (result and result.request_id, auth and auth.function_request_id) if i)}
    out["logs"] = [log_line(entry, reveal=reveal) for entry in logs if entry.request_id in ids]
    return out


def _message(headers: list[tuple[str, str]], body: bytes, reveal: bool) -> dict[str, Any]:
    """Headers and body (text when it decodes, else base64), the body cut at :data:`SHOWN_BODY`."""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    shown, truncated = body[:SHOWN_BODY], len(body) > SHOWN_BODY
    try:
        text, is_base64 = shown.decode(), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(shown).decode(), True
    if not reveal:
        headers = masking.mask_headers(headers)
        if not is_base64 and not truncated:
            text = masking.mask_body(text, content_type)
        elif not is_base64:
            text = masking.mask_text(text)
    return {"headers": [list(h) for h in headers], "body": text, "base64": is_base64, "truncated": truncated}


def _event(payload: bytes | None, reveal: bool) -> Any:
    if payload is None:
        return None
    try:
        event = json.loads(payload)
    except ValueError:
        return None
    return event if reveal else masking.mask_event(event)


def _error_text(payload: bytes) -> str:
    try:
        doc = json.loads(payload)
    except ValueError:
        return payload[:500].decode(errors="replace")
    if isinstance(doc, dict):
        return f"{doc.get('errorType', 'Error')}: {doc.get('errorMessage', '')}"
    return str(doc)[:500]


def log_line(entry: LogLine, *, reveal: bool) -> dict[str, Any]:
    return {
        "seq": entry.seq, "time": entry.time, "source": entry.source, "request_id": entry.request_id,
        "level": level_of(entry.line), "line": entry.line if reveal else masking.mask_text(entry.line),
    }  # fmt: skip


def function(fn: LambdaFunction, spec: Function, service: ServicePlan) -> dict[str, Any]:
    stats, error = fn.stats, fn.stats.last_error
    warm, busy, starting = fn.pool()
    p50, p99 = stats.percentile(50), stats.percentile(99)
    return {
        "key": spec.source, "name": spec.name, "service": spec.service, "kind": spec.kind, "handler": spec.handler,
        "memory": spec.memory, "timeout": spec.timeout, "reserved_concurrency": spec.reserved_concurrency,
        "environments": {"warm": warm, "busy": busy, "starting": starting},
        "invocations": stats.invocations, "errors": stats.errors, "throttles": stats.throttles,
        "cold_starts": stats.cold_starts,
        "p50_ms": round(p50, 2) if p50 is not None else None, "p99_ms": round(p99, 2) if p99 is not None else None,
        "last_error": None if error is None else {
            "time": error.time, "request_id": error.request_id, "type": error.type, "message": error.message,
            "trace": list(error.trace),
        },
        "grants": [f"{', '.join(g.actions)} on {', '.join(str(r) for r in g.resources)}" for g in service.grants],
    }  # fmt: skip


def schedule(key: str, rule: ScheduledRule) -> dict[str, Any]:
    last = rule.last_run
    return {
        "key": key, "rule": rule.rule, "expression": rule.schedule.expression, "handler": rule.function.config.handler,
        "next_run": rule.next_fire.astimezone(UTC).isoformat() if rule.next_fire else None,
        "last_run": None if last is None else {
            "time": last.time, "request_id": last.request_id, "error": last.error, "manual": last.manual,
        },
    }  # fmt: skip
