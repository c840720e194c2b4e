"""The HTTP API emulator: API Gateway HTTP API in front of every service (served by ``http_server``).

A request goes through what API Gateway does, in its order: the payload limit (10 MB -> 413), stage
throttling (token bucket -> 429), route selection, then the route's authorizer and integration. No route
-> 404, except a CORS preflight, which the API answers itself when no route takes it; a preflight that an
``OPTIONS``, ``ANY`` or ``$default`` route takes is that route's, and the API puts the configured CORS
headers on its integration's answer (``stratus.local.httpapi.cors``). The integrations:

- Lambda (payload format 2.0): the event is built exactly as AWS builds it and the function's result is
  mapped back; a function error or malformed result -> 500, a Lambda throttle -> 500 (API Gateway does
  not pass Lambda's 429 on), an integration past its timeout (30 s at most) -> 503. Lambda's 6 MB limits hold:
  an event over 6,291,456 bytes (a body under the API's 10 MB can pass it, base64 inflates binary bodies by a
  third) is refused before the function runs -> 413 ``{"message":"Request Too Long"}`` (REST API's capture;
  the HTTP API's status is not published), and a result over Lambda's response limit fails the invocation
  (``Function.ResponseSizeTooLarge``) -> 500.
- HTTP proxy (container services): ``/web/{proxy+}`` goes to the container's ``/{proxy}``, with
  hop-by-hop headers dropped and ``x-forwarded-*`` set from the connection.

Every answer carries ``apigw-requestid``; the API's own errors have AWS's bodies (``{"message":"..."}``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx

from stratus.events.httpapi import (
    HttpRequest,
    HttpResponse,
    InvalidLambdaResponse,
    build_event,
    gateway_error,
    parse_response,
)
from stratus.local import tracing
from stratus.local.console import link as console_link
from stratus.local.httpapi.cors import preflight_origin
from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stratus.local.containers import ContainerProcess
    from stratus.local.httpapi.cors import CorsConfig
    from stratus.local.httpapi.routes import RouteMatch, RouteTable
    from stratus.local.httpapi.throttle import TokenBucket
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

MAX_PAYLOAD = 10 * 1024 * 1024  # HTTP API payload quota
EVENT_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous request payload quota: the whole event, as sent
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip


@dataclass(frozen=True)
class ApiIdentity:
    """Who the API says it is in events: requestContext.apiId/accountId/domainName."""

    api_id: str
    account_id: str
    region: str
    port: int

    @property
    def domain_name(self) -> str:
        return f"127.0.0.1:{self.port}"

    def event(
        self, request: HttpRequest, match: RouteMatch, request_id: str, authorizer: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The payload 2.0 event of ``request`` on the route it matched, as this API sends it."""
        return build_event(
            request,
            route_key=match.route.key,
            path_parameters=match.path_parameters,
            api_id=self.api_id,
            account_id=self.account_id,
            domain_name=self.domain_name,
            request_id=request_id,
            authorizer=authorizer,
        )


class Integration(Protocol):
    async def __call__(
        self, request: HttpRequest, match: RouteMatch, request_id: str, authorizer: dict[str, Any] | None = None
    ) -> HttpResponse: ...


class Authorizer(Protocol):
    async def check(
        self, request: HttpRequest, match: RouteMatch, request_id: str
    ) -> HttpResponse | dict[str, Any]: ...


class LambdaIntegration:
    """AWS_PROXY integration with payload format 2.0."""

    def __init__(self, function: LambdaFunction, api: ApiIdentity, timeout: float, sink: LogSink) -> None:
        self.function = function
        self.api = api
        self.timeout = timeout
        self.sink = sink

    async def __call__(
        self, request: HttpRequest, match: RouteMatch, request_id: str, authorizer: dict[str, Any] | None = None
    ) -> HttpResponse:
        payload = json.dumps(self.api.event(request, match, request_id, authorizer), separators=(",", ":")).encode()
        if len(payload) > EVENT_LIMIT:
            # Lambda refuses the invoke before the function runs; a binary body counts base64-encoded.
            self._log(request_id, f"{len(payload)} byte payload is too large for the RequestResponse invocation type "
                                  f"(limit {EVENT_LIMIT} bytes)")  # fmt: skip
            return gateway_error(413, "Request Too Long")
        trace = tracing.CURRENT.get()
        if trace is not None:
            trace.function, trace.event = self.function.config.source, payload
        # The function keeps running past the integration timeout, as in AWS: only the API stops waiting.
        task = asyncio.ensure_future(self.function.invoke(payload))
        if not await _finished_within(task, self.timeout):
            self._log(request_id, f"integration timed out after {self.timeout:g} s")
            return gateway_error(503, "Service Unavailable")
        try:
            result = task.result()
        except TooManyRequests:
            self._log(request_id, "Lambda throttled the invocation (reserved concurrency in use)")
            return gateway_error(500, "Internal Server Error")
        if trace is not None:
            trace.result = result
        if result.function_error:
            return gateway_error(500, "Internal Server Error")
        try:
            return parse_response(json.loads(result.payload))
        except (ValueError, InvalidLambdaResponse) as exc:
            self._log(request_id, f"malformed Lambda proxy response: {exc}")
            return gateway_error(500, "Internal Server Error")

    def _log(self, request_id: str, message: str) -> None:
        self.sink.write("api", message, request_id)


class HttpProxyIntegration:
    """HTTP_PROXY integration: ``<prefix>/{proxy+}`` -> the container's ``/{proxy}``."""

    def __init__(self, container: ContainerProcess, prefix: str, timeout: float, client: httpx.AsyncClient) -> None:
        self.container = container
        self.prefix = "" if prefix == "/" else prefix
        self.timeout = timeout
        self.client = client

    async def __call__(
        self, request: HttpRequest, match: RouteMatch, request_id: str, authorizer: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The route was chosen on the decoded path: forward what it matched, re-encoded, never the raw prefix.
        proxy = (match.path_parameters or {}).get("proxy", "")
        url = self.container.url + "/" + quote(proxy, safe="/:@!$&'()*+,;=~")
        if request.raw_query:
            url += "?" + request.raw_query
        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP and k.lower() != "x-forwarded-for"]
        headers += [
            ("x-forwarded-for", request.source_ip),
            ("x-forwarded-proto", "http"),
            ("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{random.getrandbits(96):024x}"),
        ]
        try:
            upstream = await self.client.request(
                request.method, url, headers=headers, content=request.body, timeout=self.timeout
            )
        except httpx.TimeoutException:
            return gateway_error(503, "Service Unavailable")
        except httpx.TransportError:
            return gateway_error(503, "Service Unavailable")
        out = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        return HttpResponse(upstream.status_code, out, upstream.content)


class HttpApi:
    """One API stage, ``$default``: :meth:`respond` answers a request as API Gateway would."""

    def __init__(
        self,
        *,
        routes: RouteTable,
        integrations: dict[str, Integration],
        sink: LogSink,
        cors: CorsConfig | None = None,
        throttle: TokenBucket | None = None,
        access_log: bool = True,
        authorizers: Mapping[str, Authorizer] | None = None,
        recorder: tracing.RequestRecorder | None = None,
        console_url: str | None = None,
    ) -> None:
        self.routes = routes
        self.integrations = integrations
        self.authorizers: Mapping[str, Authorizer] = authorizers or {}  # by key: what a route's ``authorizer`` names
        self.sink = sink
        self.cors = cors
        self.throttle = throttle
        self.access_log = access_log
        self.recorder = recorder  # the local console: every request's trace (``stratus.local.tracing``)
        self.console_url = console_url  # linked from the 404 page a browser gets

    async def respond(self, request: HttpRequest, request_id: str, *, too_large: bool = False) -> HttpResponse:
        """What API Gateway answers to ``request`` (logged, when the access log is on; traced, when recorded)."""
        started = time.perf_counter()
        trace = None
        if self.recorder is not None:
            trace = tracing.RequestTrace(request_id, request, time.time())
            tracing.CURRENT.set(trace)  # this request's task only: each connection's requests run in its own
        if too_large:
            response = gateway_error(413, "Request Entity Too Large")
        else:
            response = await self._handle(request, request_id)
        elapsed = (time.perf_counter() - started) * 1000
        if self.access_log:
            line = f"{request.method} {request.raw_path} {response.status} {elapsed:.1f} ms"
            self.sink.write("api", line, request_id)
        if trace is not None and self.recorder is not None:
            trace.response, trace.elapsed_ms = response, elapsed
            self.recorder.record(trace)
        return response

    async def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        headers = request.headers
        if self.throttle is not None and not self.throttle.try_acquire():
            return gateway_error(429, "Too Many Requests")
        origin = next((v for k, v in headers if k == "origin"), None)
        preflight = self.cors is not None and request.method == "OPTIONS" and preflight_origin(headers) is not None
        # Route selection comes first, for a preflight too: one that a route takes (OPTIONS, ANY, $default) goes
        # to that route's authorizer and integration; the API answers only the preflights no route takes.
        match = self.routes.match(request.method, request.raw_path)
        if match is None:
            own = self.cors.preflight(headers) if preflight and self.cors is not None else None
            if own is not None:
                return own
            response = gateway_error(404, "Not Found")
            if self.console_url is not None and request.method == "GET" and _browser_page(headers):
                response = console_link.not_found_page(self.console_url)
        else:
            trace = tracing.CURRENT.get()
            if trace is not None:
                trace.route, trace.target = match.route.key, match.route.target
            response = await self._integrate(request, match, request_id)
        if self.cors is not None:  # the API answers CORS itself: backend CORS headers never pass
            response.headers = self.cors.apply(origin, response.headers, preflight=preflight)
        return response

    async def _integrate(self, request: HttpRequest, match: RouteMatch, request_id: str) -> HttpResponse:
        route = match.route
        context = None
        if route.authorizer is not None:
            authorizer = self.authorizers.get(route.authorizer)
            if authorizer is None:  # the manifest check refuses this; never let it through
                self.sink.write("api", f"{route.key} requires authorizer {route.authorizer!r}, which does not run",
                                request_id)  # fmt: skip
                return gateway_error(500, "Internal Server Error")
            decided = await authorizer.check(request, match, request_id)
            if isinstance(decided, HttpResponse):
                return decided
            context = {"lambda": decided}
        return await self.integrations[route.target](request, match, request_id, context)


def _browser_page(headers: list[tuple[str, str]]) -> bool:
    """Whether a browser asks for a page (navigation: ``Accept`` names HTML); fetch() and curl do not."""
    return any(k == "accept" and "text/html" in v for k, v in headers)


async def _finished_within(task: asyncio.Future[Any], timeout: float) -> bool:
    """Wait for ``task`` up to ``timeout`` seconds without cancelling it (one timer, no extra task)."""
    if task.done():
        return True
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[bool] = loop.create_future()

    def settle(value: bool) -> None:
        if not waiter.done():
            waiter.set_result(value)

    timer = loop.call_later(timeout, settle, False)
    task.add_done_callback(lambda _: settle(True))
    try:
        return await waiter
    finally:
        timer.cancel()
