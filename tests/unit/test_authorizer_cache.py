"""The local HTTP API's Lambda authorizer on its own: identity sources, the decision cache and its key, cached
policies evaluated per route, failures; an in-process function stands in for the authorizer's Lambda (its
protocol is tested in test_lambda_runtime), so a failure here points at ``stratus.local.authorizer``.

AWS: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html (caching: the
identity sources are the key; ``$context.routeKey`` caches per route) and
https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors (a cached policy is applied to later
requests, and denies those whose ARN it does not name)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local import authorizer as module
from stratus.local.authorizer import LocalAuthorizer
from stratus.local.gateway import ApiIdentity
from stratus.local.httpapi.routes import RouteMatch
from stratus.local.runtime.function import InvokeResult, TooManyRequests
from stratus.manifest.routes import Route

API = ApiIdentity(api_id="abc123", account_id="123456789012", region="us-east-1", port=8080)
KEYED = Route("ANY /keyed/{proxy+}", "keyed", "default")
ADMIN = Route("DELETE /keyed/{id}", "keyed", "default")


class Authorizer:
    """Answers with ``decide(event)``, records every event it was called with."""

    def __init__(self, decide: Callable[[dict[str, Any]], Any]) -> None:
        self.decide = decide
        self.events: list[dict[str, Any]] = []

    async def invoke(self, payload: bytes, **_: object) -> InvokeResult:
        event = json.loads(payload)
        self.events.append(event)
        try:
            answer = self.decide(event)
        except TooManyRequests:
            raise
        except Exception as exc:  # the function raised: Lambda's error payload
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return InvokeResult("r", json.dumps(error).encode(), "Unhandled", 1.0, False)
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        return InvokeResult("r", raw, None, 1.0, False)


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, source: str, line: str, request_id: str | None = None) -> None:
        self.lines.append(line)


def local(function: Authorizer, *, ttl: int = 0, sources: tuple[str, ...] = ("$request.header.x-api-key",)) -> Any:
    return LocalAuthorizer(function, API, ttl=ttl, identity_sources=list(sources), sink=Sink())  # type: ignore[arg-type]


def request(path: str = "/keyed/echo", method: str = "GET", **headers: str) -> HttpRequest:
    return HttpRequest(method, path, "", [(k.replace("_", "-"), v) for k, v in headers.items()], b"", "127.0.0.1")


def check(authorizer: LocalAuthorizer, req: HttpRequest, route: Route = KEYED) -> HttpResponse | dict[str, Any]:
    params = {"proxy": req.raw_path.removeprefix("/keyed/")} if route is KEYED else {"id": "7"}
    return asyncio.run(authorizer.check(req, RouteMatch(route, params), "req-1"))


def status(answer: HttpResponse | dict[str, Any]) -> int:
    return answer.status if isinstance(answer, HttpResponse) else 200


def by_key(event: dict[str, Any]) -> dict[str, Any]:
    return {"isAuthorized": event["identitySource"][0] == "good", "context": {"who": event["identitySource"][0]}}


def test_a_missing_identity_source_is_401_without_a_call() -> None:
    function = Authorizer(by_key)
    answer = check(local(function), request())
    assert isinstance(answer, HttpResponse) and answer.status == 401
    assert json.loads(answer.body) == {"message": "Unauthorized"}
    assert function.events == []


def test_without_a_ttl_every_request_is_decided_afresh() -> None:
    function = Authorizer(by_key)
    authorizer = local(function)
    assert [status(check(authorizer, request(x_api_key="good"))) for _ in range(3)] == [200, 200, 200]
    assert len(function.events) == 3


def test_the_cache_key_is_the_identity_values_so_one_decision_covers_every_route() -> None:
    function = Authorizer(by_key)
    authorizer = local(function, ttl=300)
    assert check(authorizer, request(x_api_key="good")) == {"who": "good"}
    assert check(authorizer, request("/keyed/7", "DELETE", x_api_key="good"), ADMIN) == {"who": "good"}
    assert status(check(authorizer, request(x_api_key="bad"))) == 403
    assert status(check(authorizer, request(x_api_key="bad"))) == 403
    assert [e["identitySource"] for e in function.events] == [["good"], ["bad"]]


def test_with_the_route_key_as_an_identity_source_each_route_is_decided_and_cached_on_its_own() -> None:
    function = Authorizer(lambda e: {"isAuthorized": e["routeKey"] != ADMIN.key})
    authorizer = local(function, ttl=300, sources=("$request.header.x-api-key", "$context.routeKey"))
    for _ in range(2):
        assert status(check(authorizer, request(x_api_key="good"))) == 200
        assert status(check(authorizer, request("/keyed/7", "DELETE", x_api_key="good"), ADMIN)) == 403
    assert [e["identitySource"] for e in function.events] == [["good", KEYED.key], ["good", ADMIN.key]]


def test_a_cached_policy_is_evaluated_against_each_routes_arn() -> None:
    def policy(event: dict[str, Any]) -> dict[str, Any]:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["routeArn"]}
        return {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}

    function = Authorizer(policy)
    authorizer = local(function, ttl=300)
    assert status(check(authorizer, request("/keyed/a", x_api_key="good"))) == 200
    assert function.events[0]["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/keyed/a"
    # the cached policy names /keyed/a only: another path is refused without asking the function again
    assert status(check(authorizer, request("/keyed/b", x_api_key="good"))) == 403
    assert status(check(authorizer, request("/keyed/a", x_api_key="good"))) == 200
    assert len(function.events) == 1


def test_a_decision_expires_with_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    function = Authorizer(by_key)
    authorizer = local(function, ttl=60)
    check(authorizer, request(x_api_key="good"))
    now[0] += 59.9
    check(authorizer, request(x_api_key="good"))
    now[0] += 0.2
    check(authorizer, request(x_api_key="good"))
    assert len(function.events) == 2


def test_the_cache_is_bounded_because_clients_choose_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "CACHE_LIMIT", 50)
    function = Authorizer(by_key)
    authorizer = local(function, ttl=300)
    for n in range(200):
        check(authorizer, request(x_api_key=f"key-{n}"))
    assert len(authorizer._cache) <= 50
    check(authorizer, request(x_api_key="key-199"))  # the newest are kept
    assert len(function.events) == 200


@pytest.mark.parametrize(
    "decide",
    [
        lambda e: b"not json",
        lambda e: {"isAuthorized": "yes"},
        lambda e: [],
        lambda e: (_ for _ in ()).throw(RuntimeError("boom")),
    ],
    ids=["not-json", "not-boolean", "not-an-object", "raises"],
)
def test_a_failing_or_malformed_authorizer_is_500_and_is_not_cached(decide: Callable[[dict[str, Any]], Any]) -> None:
    function = Authorizer(decide)
    authorizer = local(function, ttl=300)
    for _ in range(2):
        answer = check(authorizer, request(x_api_key="good"))
        assert isinstance(answer, HttpResponse) and answer.status == 500
        assert json.loads(answer.body) == {"message": "Internal Server Error"}
    assert len(function.events) == 2
    assert authorizer.sink.lines  # the reason is in the API's log, never in the client's body
