"""The HTTP API's Lambda authorizer, run locally as API Gateway runs it.

For a route whose service declares ``auth``, before the integration: the identity sources are read from the
request (any missing -> 401 ``{"message":"Unauthorized"}``, the authorizer is not called); a cached decision
for the same identity source values is used while its TTL lasts: as in AWS the key is those values alone, so one
cached result covers every route the authorizer guards unless ``$context.routeKey`` is an identity source
(``stratus validate`` refuses a cached authorizer shared by routes that need different decisions), and a cached
IAM policy is evaluated again against each route's ARN;
otherwise the authorizer function is invoked with the payload 2.0 authorizer event and must answer within
10 s. Denied -> 403 ``{"message":"Forbidden"}``; an error, a timeout or a malformed answer -> 500. Allowed:
its context goes to the integration as ``requestContext.authorizer.lambda``.

There is one of these per authorizer of the plan (``stack.plan.authorizers``: the manifest's, or one per auth
mode, ``x-api-key`` for ``api_key`` and ``Authorization`` for ``token``), each with its identity sources and
its own cache, as each authorizer of an HTTP API has; each route names the authorizer that guards it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from stratus.events import authorizer as events
from stratus.events.httpapi import decode_path, gateway_error
from stratus.local import tracing
from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from stratus.events.httpapi import HttpRequest, HttpResponse
    from stratus.local.gateway import ApiIdentity
    from stratus.local.httpapi.routes import RouteMatch
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

RESPONSE_TIMEOUT_S = 10.0  # the HTTP API's limit for a Lambda authorizer's answer
CACHE_LIMIT = 10_000  # cached decisions per authorizer (AWS does not say; the client picks the keys)


class LocalAuthorizer:
    def __init__(
        self,
        function: LambdaFunction,
        api: ApiIdentity,
        *,
        ttl: int,
        identity_sources: list[str],
        sink: LogSink,
        name: str = "authorizer",
    ) -> None:
        self.name = name  # its key in the plan
        self.function = function
        self.api = api
        self.ttl = ttl
        self.identity_sources = identity_sources
        self.sink = sink
        self._cache: dict[tuple[str, ...], tuple[float, events.Decision]] = {}

    async def check(self, request: HttpRequest, match: RouteMatch, request_id: str) -> HttpResponse | dict[str, Any]:
        """An API Gateway answer (401/403/500) to send instead, or the context for the integration."""
        trace = tracing.CURRENT.get()
        values = events.identity(request, self.identity_sources, route_key=match.route.key)
        if values is None:
            if trace is not None:
                trace.authorizer = tracing.AuthorizerTrace(self.name, "unauthorized", cached=False)
            return gateway_error(401, "Unauthorized")
        arn = events.route_arn(
            region=self.api.region, account_id=self.api.account_id, api_id=self.api.api_id, stage="$default",
            method=request.method, path=decode_path(request.raw_path),  # the event's rawPath
        )  # fmt: skip
        key = tuple(values)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            decision, seen = cached[1], tracing.AuthorizerTrace(self.name, "allowed", cached=True)
        else:
            seen = tracing.AuthorizerTrace(self.name, "error", cached=False)
            found = await self._invoke(request, match, arn, request_id, values, seen)
            if found is None:
                if trace is not None:
                    trace.authorizer = seen
                return gateway_error(500, "Internal Server Error")
            decision = found
            if self.ttl:
                self._remember(key, now + self.ttl, decision)
        allowed = decision.allows(arn)  # a cached IAM policy is evaluated against this route's ARN
        if trace is not None:
            seen.outcome, seen.context = ("allowed" if allowed else "denied"), decision.context
            trace.authorizer = seen
        if not allowed:
            return gateway_error(403, "Forbidden")
        return decision.context

    def _remember(self, key: tuple[str, ...], expires: float, decision: events.Decision) -> None:
        """Cache a decision; the client chooses the keys, so the cache is bounded (expired ones go first,
        then the oldest)."""
        if len(self._cache) >= CACHE_LIMIT:
            now = time.monotonic()
            for stale in [k for k, (until, _) in self._cache.items() if until <= now]:
                del self._cache[stale]
            while len(self._cache) >= CACHE_LIMIT:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = (expires, decision)

    async def _invoke(
        self,
        request: HttpRequest,
        match: RouteMatch,
        arn: str,
        request_id: str,
        values: list[str],
        seen: tracing.AuthorizerTrace,
    ) -> events.Decision | None:
        request_event = self.api.event(request, match, request_id)
        payload = json.dumps(events.event(request_event, route_arn=arn, identity_source=values)).encode()
        try:
            result = await asyncio.wait_for(self.function.invoke(payload), RESPONSE_TIMEOUT_S)
        except TimeoutError:
            self._log(request_id, f"the authorizer did not answer within {RESPONSE_TIMEOUT_S:g} s")
            return None
        except TooManyRequests:
            self._log(request_id, "the authorizer was throttled")
            return None
        seen.function_request_id = result.request_id
        if result.function_error:
            self._log(request_id, "the authorizer failed")
            return None
        try:
            return events.decision(json.loads(result.payload))
        except (ValueError, events.InvalidAuthorizerResponse) as exc:
            self._log(request_id, f"malformed authorizer response: {exc}")
            return None

    def _log(self, request_id: str, message: str) -> None:
        self.sink.write("api", message, request_id)
