"""What happened to one HTTP API request, for the local console: recorded as it passes, shown on demand.

:class:`HttpApi.respond <stratus.local.gateway.HttpApi.respond>` opens a :class:`RequestTrace` when something
records requests (``HttpApi.recorder``; the local console does) and makes it the current one for the
request's task; the authorizer and the Lambda integration fill in what only they know. A trace holds references
to what the request path made anyway (the request, the event's bytes, the result), so recording costs a few
attribute writes per request; turning it into JSON happens only when the console asks.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stratus.events.httpapi import HttpRequest, HttpResponse
    from stratus.local.runtime.function import InvokeResult


@dataclass(slots=True)
class AuthorizerTrace:
    name: str  # the authorizer's key in the plan
    outcome: str  # allowed, denied, unauthorized, error
    cached: bool
    context: dict[str, Any] | None = None
    function_request_id: str | None = None


@dataclass(slots=True)
class RequestTrace:
    request_id: str
    request: HttpRequest
    time: float  # epoch seconds when it arrived
    route: str | None = None  # the matched route's key
    target: str | None = None  # the service its integration reaches
    authorizer: AuthorizerTrace | None = None
    function: str | None = None  # the function the event went to (its source: "players", "worker/jobs")
    event: bytes | None = None  # exactly what was sent to the function
    result: InvokeResult | None = None
    response: HttpResponse | None = None
    elapsed_ms: float = 0.0


class RequestRecorder(Protocol):
    def record(self, trace: RequestTrace) -> None: ...


CURRENT: ContextVar[RequestTrace | None] = ContextVar("stratus_request_trace", default=None)
