"""CORS as API Gateway applies it: a preflight goes to the route that takes it (the API answers those no route
takes), the configured CORS headers go on the integration's answer, the backend's CORS headers are ignored."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local.gateway import HttpApi
from stratus.local.httpapi.cors import CorsConfig, preflight_origin
from stratus.local.httpapi.routes import Route, RouteMatch, RouteTable
from stratus.local.logs import LogSink

SITE = "https://app.example.com"
PREFLIGHT = [("Origin", SITE), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "x-a")]

ANY_ORIGIN = CorsConfig(allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["content-type"])
ONE_SITE = CorsConfig(
    allow_origins=[SITE],
    allow_methods=["GET", "POST", "DELETE"],
    allow_headers=["authorization", "content-type"],
    expose_headers=["x-request-id", "date"],
    max_age=300,
    allow_credentials=True,
)


def cors_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name: value for name, value in headers if name.startswith("access-control-") or name == "vary"}


# --- preflight ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="no origin and no requested method"),
        pytest.param([("Origin", SITE)], id="no requested method"),
        pytest.param([("Access-Control-Request-Method", "POST")], id="no origin"),
    ],
)
def test_an_options_request_that_is_not_a_preflight_is_left_to_the_routes(headers: list[tuple[str, str]]) -> None:
    assert ONE_SITE.preflight(headers) is None


def test_a_preflight_from_an_allowed_origin_is_answered_204_with_the_configured_headers() -> None:
    # GIVEN a configuration naming one origin, with credentials
    # WHEN that origin sends a preflight
    response = ONE_SITE.preflight(PREFLIGHT)
    # THEN the gateway answers it itself, echoing the origin
    assert response is not None
    assert (response.status, response.body) == (204, b"")
    assert cors_headers(response.headers) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-methods": "GET,POST,DELETE",
        "access-control-allow-headers": "authorization,content-type",
        "access-control-max-age": "300",
        "access-control-allow-credentials": "true",
        "vary": "origin",
    }


def test_a_preflight_answer_does_not_carry_expose_headers() -> None:
    response = ONE_SITE.preflight(PREFLIGHT)
    assert response is not None
    assert "access-control-expose-headers" not in dict(response.headers)


def test_a_preflight_from_a_disallowed_origin_gets_no_cors_headers() -> None:
    response = ONE_SITE.preflight([("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
    assert response == HttpResponse(204, [], b"")


def test_a_preflight_to_an_api_allowing_any_origin_is_answered_with_a_star_and_no_vary() -> None:
    response = ANY_ORIGIN.preflight([("origin", "https://whoever.example"), ("access-control-request-method", "GET")])
    assert response is not None
    assert cors_headers(response.headers) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "content-type",
    }


def test_a_preflight_answer_leaves_out_what_is_not_configured() -> None:
    response = CorsConfig(allow_origins=[SITE]).preflight(PREFLIGHT)
    assert response is not None
    assert cors_headers(response.headers) == {"access-control-allow-origin": SITE, "vary": "origin"}


# --- origins ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow_origins", "origin", "allowed"),
    [
        (["*"], "https://a.example", "*"),
        (["*"], "null", "*"),
        ([SITE], SITE, SITE),
        ([SITE], "HTTPS://APP.EXAMPLE.COM", "HTTPS://APP.EXAMPLE.COM"),
        ([SITE], "https://app.example.com:8443", None),
        ([SITE], "http://app.example.com", None),
        ([SITE], "https://app.example.com.evil.example", None),
        ([SITE], "null", None),
        (["https://*"], "https://anything.example", "https://anything.example"),
        (["https://*"], "http://anything.example", None),
        (["http://*"], "http://localhost:5173", "http://localhost:5173"),
        (["http://localhost:5173", SITE], "http://localhost:5173", "http://localhost:5173"),
        ([], SITE, None),
    ],
)
def test_an_origin_is_allowed_by_exact_match_star_or_scheme_wildcard(
    allow_origins: list[str], origin: str, allowed: str | None
) -> None:
    assert CorsConfig(allow_origins=allow_origins).allowed_origin(origin) == allowed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"allow_origins": ["*"], "allow_credentials": True}, "allow_credentials"),
        ({"allow_origins": ["https://*.example.com"]}, "only"),
        ({"allow_origins": [SITE], "max_age": -1}, "max_age"),
    ],
)
def test_a_configuration_browsers_or_aws_would_not_honour_is_refused(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CorsConfig(**arguments)  # type: ignore[arg-type]


# --- actual responses ---------------------------------------------------------------------------

BACKEND = [
    ("content-type", "application/json"),
    ("Access-Control-Allow-Origin", "*"),
    ("access-control-allow-credentials", "true"),
    ("access-control-expose-headers", "x-secret"),
    ("set-cookie", "a=1"),
]


@pytest.mark.parametrize("origin", [None, "https://evil.example", SITE])
def test_the_backends_cors_headers_are_ignored_whatever_the_origin(origin: str | None) -> None:
    headers = ONE_SITE.apply(origin, BACKEND)
    assert ("Access-Control-Allow-Origin", "*") not in headers
    assert ("access-control-expose-headers", "x-secret") not in headers
    assert headers[:2] == [("content-type", "application/json"), ("set-cookie", "a=1")]


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_a_response_to_no_or_a_disallowed_origin_gets_no_cors_headers(origin: str | None) -> None:
    assert ONE_SITE.apply(origin, BACKEND) == [("content-type", "application/json"), ("set-cookie", "a=1")]


def test_a_response_to_an_allowed_origin_gets_the_configured_headers_and_vary() -> None:
    assert cors_headers(ONE_SITE.apply(SITE, BACKEND)) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "x-request-id,date",
        "vary": "origin",
    }


def test_a_response_on_an_api_allowing_any_origin_gets_a_star_and_no_vary() -> None:
    assert cors_headers(ANY_ORIGIN.apply("https://a.example", [])) == {"access-control-allow-origin": "*"}


@pytest.mark.parametrize("vary", ["Origin", "accept-encoding, origin", "*"])
def test_vary_origin_is_not_added_twice(vary: str) -> None:
    headers = ONE_SITE.apply(SITE, [("vary", vary)])
    assert [value for name, value in headers if name == "vary"] == [vary]


def test_vary_origin_is_added_next_to_another_vary() -> None:
    headers = ONE_SITE.apply(SITE, [("vary", "accept-encoding")])
    assert [value for name, value in headers if name == "vary"] == ["accept-encoding", "origin"]


def test_a_configuration_shows_its_settings() -> None:
    assert "allow_origins=('*',)" in repr(ANY_ORIGIN)


# --- a preflight the integration answered --------------------------------------------------------


def test_a_routed_preflight_gets_the_preflight_headers_not_the_backends() -> None:
    backend = [("access-control-allow-origin", "*"), ("access-control-allow-methods", "PATCH"), ("x-own", "1")]
    headers = cors_headers(ONE_SITE.apply(SITE, backend, preflight=True))
    assert headers == {
        "access-control-allow-origin": SITE,
        "access-control-allow-methods": "GET,POST,DELETE",
        "access-control-allow-headers": "authorization,content-type",
        "access-control-max-age": "300",
        "access-control-allow-credentials": "true",
        "vary": "origin",
    }  # and no expose-headers: a preflight's set, as the API's own answer has


def test_a_routed_preflight_from_a_disallowed_origin_gets_no_cors_headers() -> None:
    backend = [("access-control-allow-origin", "*"), ("x-own", "1")]
    assert ONE_SITE.apply("https://evil.example", backend, preflight=True) == [("x-own", "1")]


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        (PREFLIGHT, SITE),
        ([("origin", SITE), ("access-control-request-method", "GET")], SITE),
        ([("Origin", SITE)], None),
        ([("Access-Control-Request-Method", "POST")], None),
        ([], None),
    ],
)
def test_a_preflight_is_an_origin_and_a_requested_method(headers: list[tuple[str, str]], origin: str | None) -> None:
    assert preflight_origin(headers) == origin


# --- who answers a preflight: the route that takes it, else the API -------------------------------


class Recorder:
    """An integration (or an authorizer) that records what reached it."""

    def __init__(self, answer: HttpResponse | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.answer = answer

    async def __call__(
        self, request: HttpRequest, match: RouteMatch, request_id: str, authorizer: dict[str, Any] | None = None
    ) -> HttpResponse:
        self.calls.append((request.method, match.route.key))
        backend = [("content-type", "text/plain"), ("access-control-allow-origin", "*")]
        return HttpResponse(204 if request.method == "OPTIONS" else 200, backend, b"")

    async def check(self, request: HttpRequest, match: RouteMatch, request_id: str) -> HttpResponse | dict[str, Any]:
        self.calls.append((request.method, match.route.key))
        return self.answer if self.answer is not None else {}


def _api(routes: list[Route]) -> tuple[HttpApi, Recorder, Recorder]:
    service, guard = Recorder(), Recorder(HttpResponse(401, [("content-type", "application/json")], b"{}"))
    api = HttpApi(
        routes=RouteTable(routes),
        integrations={"svc": service},
        sink=LogSink(io.StringIO()),
        cors=ONE_SITE,
        access_log=False,
        authorizers={"token": guard},
    )
    return api, service, guard


def _send(api: HttpApi, method: str, path: str, headers: list[tuple[str, str]]) -> HttpResponse:
    request = HttpRequest(method, path, "", [(k.lower(), v) for k, v in headers], b"", "127.0.0.1")
    return asyncio.run(api.respond(request, "id"))


PROTECTED = [
    Route("ANY /p", "svc", "token"),
    Route("ANY /p/{proxy+}", "svc", "token"),
    Route("OPTIONS /p", "svc"),
    Route("OPTIONS /p/{proxy+}", "svc"),
    Route("GET /only-get", "svc"),
]


@pytest.mark.parametrize(("path", "route"), [("/p", "OPTIONS /p"), ("/p/things/1", "OPTIONS /p/{proxy+}")])
def test_a_preflight_an_options_route_takes_reaches_its_integration_without_the_authorizer(
    path: str, route: str
) -> None:
    api, service, guard = _api(PROTECTED)
    response = _send(api, "OPTIONS", path, PREFLIGHT)
    assert (service.calls, guard.calls) == ([("OPTIONS", route)], [])
    assert response.status == 204
    assert cors_headers(response.headers)["access-control-allow-methods"] == "GET,POST,DELETE"
    assert cors_headers(response.headers)["access-control-allow-origin"] == SITE


def test_a_preflight_an_any_route_takes_meets_its_authorizer() -> None:
    # GIVEN a guarded ANY route with no OPTIONS twin (the sst#5493 set-up)
    api, service, guard = _api([Route("ANY /p/{proxy+}", "svc", "token")])
    response = _send(api, "OPTIONS", "/p/things", PREFLIGHT)
    assert (guard.calls, service.calls) == ([("OPTIONS", "ANY /p/{proxy+}")], [])
    assert response.status == 401


def test_a_preflight_default_takes_is_the_integrations() -> None:
    api, service, _ = _api([Route("$default", "svc")])
    response = _send(api, "OPTIONS", "/anything", PREFLIGHT)
    assert service.calls == [("OPTIONS", "$default")]
    assert response.status == 204 and response.headers[0] == ("content-type", "text/plain")


def test_a_preflight_no_route_takes_is_answered_by_the_api() -> None:
    api, service, guard = _api(PROTECTED)
    response = _send(api, "OPTIONS", "/only-get", PREFLIGHT)
    assert (service.calls, guard.calls) == ([], [])
    assert (response.status, response.body) == (204, b"")
    assert cors_headers(response.headers)["access-control-allow-origin"] == SITE


def test_an_options_request_no_route_takes_that_is_not_a_preflight_is_a_404() -> None:
    api, service, _ = _api(PROTECTED)
    response = _send(api, "OPTIONS", "/only-get", [("Origin", SITE)])
    assert (response.status, response.body, service.calls) == (404, b'{"message":"Not Found"}', [])


def test_an_actual_request_gets_the_response_headers_not_the_preflight_ones() -> None:
    api, service, _ = _api(PROTECTED)
    response = _send(api, "GET", "/only-get", [("Origin", SITE)])
    headers = cors_headers(response.headers)
    assert (response.status, service.calls) == (200, [("GET", "GET /only-get")])
    assert headers["access-control-expose-headers"] == "x-request-id,date"
    assert "access-control-allow-methods" not in headers


# --- the repository's stack: the local route table is the plan's, the Terraform's routes -----------------


def test_every_protected_service_takes_preflights_on_an_options_route_without_its_authorizer() -> None:
    from stratus.manifest.load import load_stack

    stack = load_stack(Path(__file__).parents[2])
    table = RouteTable(stack.plan.routes)  # what `stratus dev` routes on, and what `stratus infra` renders
    protected = [name for name, svc in stack.services.items() if svc.auth != "none" and svc.path != "/"]
    assert protected  # the worker, players, ... : the check below checks something
    for name in protected:
        path = stack.services[name].path
        for target in (path, path + "/anything/1"):
            preflight_route = table.match("OPTIONS", target)
            actual_route = table.match("POST", target)
            assert preflight_route is not None and actual_route is not None, target
            assert (preflight_route.route.target, preflight_route.route.authorizer) == (name, None), target
            assert preflight_route.route.key.startswith("OPTIONS "), target
            assert actual_route.route.authorizer is not None, target  # only OPTIONS goes past the authorizer
