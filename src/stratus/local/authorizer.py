"""The HTTP API's Lambda authorizer, run locally as API Gateway runs it.

For a route whose service declares ``auth``, before the integration: the identity sources are read from the
request (any missing -> 401 ``{"message":"Unauthorized"}``, the authorizer is not called); a cached decision
for the same identity is used while its TTL lasts (one cached result covers every route, as in AWS);
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
from stratus.events.httpapi import build_event, gateway_error
from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from stratus.events.httpapi import HttpRequest, HttpResponse
    from stratus.local.gateway import ApiIdentity
    from stratus.local.httpapi.routes import RouteMatch
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

RESPONSE_TIMEOUT_S = 10.0  # the HTTP API's limit for a Lambda authorizer's answer


class LocalAuthorizer:
    def __init__(
        self,
        function: LambdaFunction,
        api: ApiIdentity,
        *,
        ttl: int,
        identity_sources: list[str],
        sink: LogSink,
    ) -> None:
        self.function = function
        self.api = api
        self.ttl = ttl
        self.identity_sources = identity_sources
        self.sink = sink
        self._cache: dict[tuple[str, ...], tuple[float, bool, dict[str, Any]]] = {}

    async def check(self, request: HttpRequest, match: RouteMatch, request_id: str) -> HttpResponse | dict[str, Any]:
        """An API Gateway answer (401/403/500) to send instead, or the context for the integration."""
        values = events.identity(request, self.identity_sources, route_key=match.route.key)
        if values is None:
            return gateway_error(401, "Unauthorized")
        key = tuple(values)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            allowed, context = cached[1], cached[2]
        else:
            decided = await self._invoke(request, match, request_id, values)
            if decided is None:
                return gateway_error(500, "Internal Server Error")
            allowed, context = decided
            if self.ttl:
                self._cache[key] = (time.monotonic() + self.ttl, allowed, context)
        if not allowed:
            return gateway_error(403, "Forbidden")
        return context

    async def _invoke(
        self, request: HttpRequest, match: RouteMatch, request_id: str, values: list[str]
    ) -> tuple[bool, dict[str, Any]] | None:
        request_event = build_event(
            request,
            route_key=match.route.key,
            path_parameters=match.path_parameters,
            api_id=self.api.api_id,
            account_id=self.api.account_id,
            domain_name=self.api.domain_name,
            request_id=request_id,
        )
        arn = events.route_arn(
            region=self.api.region, account_id=self.api.account_id, api_id=self.api.api_id, stage="$default",
            method=request.method, path=request_event["rawPath"],
        )  # fmt: skip
        payload = json.dumps(events.event(request_event, route_arn=arn, identity_source=values)).encode()
        try:
            result = await asyncio.wait_for(self.function.invoke(payload), RESPONSE_TIMEOUT_S)
        except TimeoutError:
            self._log(request_id, f"the authorizer did not answer within {RESPONSE_TIMEOUT_S:g} s")
            return None
        except TooManyRequests:
            self._log(request_id, "the authorizer was throttled")
            return None
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
