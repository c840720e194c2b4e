"""The console's HTTP side: its page, its JSON API and its live stream, on 127.0.0.1 only (:mod:`.guard`).

It reads the running :class:`~stratus.local.cloud.LocalCloud` (plan, functions, schedules, event sources), the
:class:`~.recorder.Recorder` (requests, logs) and the local AWS (:mod:`.data`). Live updates are server-sent
events (``/api/stream``): new requests and log lines as they happen, function and queue figures every second or
two, computed only while a page is connected. The page (``static/``: HTML, CSS and one JavaScript module, no
build step) reads the JSON routes below; :mod:`.views` shapes what they answer.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from stratus.local.console import views
from stratus.local.console.data import LocalData
from stratus.local.console.guard import Guard
from stratus.local.console.levels import at_least
from stratus.local.gateway import HOP_BY_HOP

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.requests import Request
    from starlette.types import ASGIApp

    from stratus.local.cloud import LocalCloud
    from stratus.local.console.recorder import Recorder

STATIC = resources.files("stratus.local.console") / "static"
FUNCTIONS_EVERY_S = 1.0
QUEUES_EVERY_S = 2.0
HEARTBEAT_S = 15.0
MAX_LOGS = 2000


def _reveal(request: Request) -> bool:
    return request.query_params.get("reveal") in ("1", "true")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class Console:
    def __init__(self, cloud: LocalCloud, recorder: Recorder, *, port: int) -> None:
        self.cloud = cloud
        self.recorder = recorder
        self.port = port
        self.data = LocalData(cloud.aws.client)
        self._closing = asyncio.Event()
        routes = [
            Route("/", self.page),
            Route("/static/{name}", self.static),
            Route("/api/overview", self.overview),
            Route("/api/requests", self.requests),
            Route("/api/requests/{rest:path}", self.request, methods=["GET"]),
            Route("/api/requests/{rest:path}", self.replay, methods=["POST"]),
            Route("/api/functions", self.functions),
            Route("/api/queues", self.queues),
            Route("/api/queues/{name}/dlq", self.dlq),
            Route("/api/queues/{name}/redrive", self.redrive, methods=["POST"]),
            Route("/api/schedules", self.schedules),
            Route("/api/schedules/run", self.run_schedule, methods=["POST"]),
            Route("/api/tables", self.tables),
            Route("/api/tables/{name}/items", self.items),
            Route("/api/buckets", self.buckets),
            Route("/api/buckets/{name}/objects", self.objects),
            Route("/api/buckets/{name}/object", self.object),
            Route("/api/logs", self.logs),
            Route("/api/stream", self.stream),
        ]
        app = Starlette(routes=routes, exception_handlers={HTTPException: self._http_error})
        self.app: ASGIApp = Guard(app, port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """End the live streams, so the server can stop."""
        self._closing.set()

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail)

    # ---------------------------------------------------------------------------------------- page

    async def page(self, request: Request) -> Response:
        return FileResponse(str(STATIC / "page.html"), media_type="text/html; charset=utf-8")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        media = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml", "png": "image/png"}
        kind = name.rsplit(".", 1)[-1]
        file = STATIC / name
        if "/" in name or name.startswith(".") or kind not in media or not file.is_file():
            return _error(404, f"no file {name!r}")
        return FileResponse(str(file), media_type=media[kind])

    async def overview(self, request: Request) -> Response:
        cloud = self.cloud
        return JSONResponse({
            "project": cloud.stack.project.name, "env": cloud.stack.env, "api": cloud.api_url,
            "invoke": cloud.invoke_url, "aws": cloud.aws.endpoint, "console": self.url,
            "services": sorted(cloud.stack.services), "started": cloud.started_at,
        })  # fmt: skip

    # ------------------------------------------------------------------------------------ requests

    async def requests(self, request: Request) -> Response:
        reveal = _reveal(request)
        return JSONResponse({"requests": [views.summary(t, reveal=reveal) for t in self.recorder.requests()]})

    async def request(self, request: Request) -> Response:
        trace = self.recorder.request(request.path_params["rest"])
        if trace is None:
            return _error(404, "that request is no longer kept (the console keeps the last 200)")
        return JSONResponse(views.detail(trace, self.recorder.logs(), reveal=_reveal(request)))

    async def replay(self, request: Request) -> Response:
        """Send the request again, as its client sent it, through the HTTP API (a new request id)."""
        rest = request.path_params["rest"]
        if not rest.endswith("/replay"):
            return _error(404, "POST /api/requests/{id}/replay replays a request")
        trace = self.recorder.request(rest.removesuffix("/replay"))
        if trace is None:
            return _error(404, "that request is no longer kept (the console keeps the last 200)")
        sent = trace.request
        url = self.cloud.api_url + sent.raw_path + (f"?{sent.raw_query}" if sent.raw_query else "")
        headers = [(k, v) for k, v in sent.headers if k not in HOP_BY_HOP]
        async with httpx.AsyncClient(timeout=40) as client:
            try:
                answer = await client.request(sent.method, url, headers=headers, content=sent.body)
            except httpx.HTTPError as exc:
                return _error(502, f"the HTTP API did not answer: {exc}")
        return JSONResponse({"id": answer.headers.get("apigw-requestid"), "status": answer.status_code})

    # ----------------------------------------------------------------------------------- functions

    def _functions(self) -> list[dict[str, Any]]:
        out = []
        for _, service in sorted(self.cloud.stack.plan.services.items()):
            for spec in service.functions:
                fn = self.cloud.functions.get(spec.source)
                if fn is not None:
                    out.append(views.function(fn, spec, service))
        return out

    async def functions(self, request: Request) -> Response:
        return JSONResponse({"functions": self._functions()})

    # -------------------------------------------------------------------------------------- queues

    async def _queues(self) -> list[dict[str, Any]]:
        cloud = self.cloud
        sources = {key: s for unit in cloud.units.values() for key, s in unit.sources.items()}
        provisioned = cloud.provisioned
        if provisioned is None:
            return []
        return await asyncio.to_thread(self.data.queues, cloud.stack.plan, provisioned, sources)

    async def queues(self, request: Request) -> Response:
        return JSONResponse({"queues": await self._queues()})

    def _queue_urls(self, name: str) -> tuple[str, str]:
        provisioned = self.cloud.provisioned
        if provisioned is None or name not in provisioned.queue_urls:
            raise HTTPException(404, f"the stack declares no queue {name!r}")
        return provisioned.queue_urls[name], provisioned.dlq_urls[name]

    async def dlq(self, request: Request) -> Response:
        _, dlq = self._queue_urls(request.path_params["name"])
        messages = await asyncio.to_thread(self.data.dlq_messages, dlq, reveal=_reveal(request))
        return JSONResponse({"messages": messages})

    async def redrive(self, request: Request) -> Response:
        await _json_body(request)
        url, dlq = self._queue_urls(request.path_params["name"])
        moved = await asyncio.to_thread(self.data.redrive, dlq, url)
        return JSONResponse({"moved": moved})

    # ------------------------------------------------------------------------------------ schedules

    def _schedules(self) -> list[dict[str, Any]]:
        rules = {key: rule for unit in self.cloud.units.values() for key, rule in unit.rules.items()}
        return [views.schedule(key, rule) for key, rule in sorted(rules.items())]

    async def schedules(self, request: Request) -> Response:
        return JSONResponse({"schedules": self._schedules()})

    async def run_schedule(self, request: Request) -> Response:
        await _json_body(request)
        key = request.query_params.get("key", "")
        rule = next((u.rules[key] for u in self.cloud.units.values() if key in u.rules), None)
        if rule is None:
            return _error(404, f"the stack has no schedule {key!r}")
        ran = await rule.fire(manual=True)
        self.recorder.announce("schedules", {"schedules": self._schedules()})
        return JSONResponse({"request_id": ran.request_id, "error": ran.error})

    # ------------------------------------------------------------------------------ tables, buckets

    async def tables(self, request: Request) -> Response:
        return JSONResponse({"tables": await asyncio.to_thread(self.data.tables, self.cloud.stack.plan)})

    async def items(self, request: Request) -> Response:
        table = self.cloud.stack.plan.tables.get(request.path_params["name"])
        if table is None:
            return _error(404, f"the stack declares no table {request.path_params['name']!r}")
        start = request.query_params.get("start")
        try:
            page = await asyncio.to_thread(self.data.items, table.aws_name, start, reveal=_reveal(request))
        except ValueError:
            return _error(400, "start is not a token this console gave")
        return JSONResponse(page)

    async def buckets(self, request: Request) -> Response:
        return JSONResponse({"buckets": self.data.buckets(self.cloud.stack.plan)})

    def _bucket(self, request: Request) -> str:
        bucket = self.cloud.stack.plan.buckets.get(request.path_params["name"])
        if bucket is None:
            raise HTTPException(404, f"the stack declares no bucket {request.path_params['name']!r}")
        return bucket.aws_name

    async def objects(self, request: Request) -> Response:
        bucket, params = self._bucket(request), request.query_params
        page = await asyncio.to_thread(self.data.objects, bucket, params.get("prefix", ""), params.get("start"))
        return JSONResponse(page)

    async def object(self, request: Request) -> Response:
        bucket, key = self._bucket(request), request.query_params.get("key", "")
        try:
            found = await asyncio.to_thread(self.data.object, bucket, key, reveal=_reveal(request))
        except Exception as exc:  # botocore's NoSuchKey and friends
            return _error(404, f"no object {key!r}: {getattr(exc, 'response', {}).get('Error', {}).get('Code', exc)}")
        return JSONResponse(found)

    # ------------------------------------------------------------------------------------------ logs

    async def logs(self, request: Request) -> Response:
        params, reveal = request.query_params, _reveal(request)
        keep = log_filter(params.get("service", ""), params.get("level", ""), params.get("request_id", ""))
        try:
            limit = max(1, min(MAX_LOGS, int(params.get("limit", "500"))))
        except ValueError:
            return _error(400, "limit must be a number")
        lines = [views.log_line(entry, reveal=reveal) for entry in self.recorder.logs()]
        return JSONResponse({"logs": [line for line in lines if keep(line)][-limit:]})

    # ---------------------------------------------------------------------------------------- stream

    async def stream(self, request: Request) -> Response:
        return StreamingResponse(
            self._events(_reveal(request)),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    async def _events(self, reveal: bool) -> AsyncIterator[str]:
        """Server-sent events until the page goes away or the console stops."""
        loop = asyncio.get_running_loop()
        last: dict[str, str] = {}
        due = {"functions": 0.0, "queues": 0.0}
        with self.recorder.subscribe() as subscription:
            yield "retry: 1000\n\n"
            quiet_since = loop.time()
            while not self._closing.is_set():
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), timeout=0.5)
                except TimeoutError:
                    event = ("tick", None)
                if event is None:  # dropped: too far behind
                    return
                kind, what = event
                if kind == "request":
                    yield _sse("request", views.summary(what, reveal=reveal))
                elif kind == "log":
                    yield _sse("log", views.log_line(what, reveal=reveal))
                elif kind != "tick":
                    yield _sse(kind, what)
                now = loop.time()
                for name, every in (("functions", FUNCTIONS_EVERY_S), ("queues", QUEUES_EVERY_S)):
                    if now < due[name]:
                        continue
                    due[name] = now + every
                    try:
                        data = self._functions() if name == "functions" else await self._queues()
                    except Exception:  # noqa: S112 - the local AWS busy or restarting: next time
                        continue
                    text = json.dumps({name: data})
                    if text != last.get(name):
                        last[name] = text
                        yield f"event: {name}\ndata: {text}\n\n"
                        quiet_since = now
                if now - quiet_since > HEARTBEAT_S:
                    quiet_since = now
                    yield ": heartbeat\n\n"


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


async def _json_body(request: Request) -> Any:
    """A state-changing request must be JSON: a form another site posts cannot be (it would need a preflight)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send Content-Type: application/json")
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise HTTPException(400, "the body is not JSON") from exc


def log_filter(service: str, level: str, request_id: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a log line (as :func:`views.log_line` makes it) passes the console's filters: ``service`` is its
    source or the service the source belongs to, ``level`` is at least the one chosen, ``request_id`` a prefix."""

    def keep(line: dict[str, Any]) -> bool:
        source = line["source"]
        if service and source != service and not source.startswith(service + "/"):
            return False
        if level and not at_least(line["level"], level.upper()):
            return False
        return not request_id or (line["request_id"] or "").startswith(request_id)

    return keep
