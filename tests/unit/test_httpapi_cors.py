"""CORS as API Gateway applies it: preflights answered by the gateway, backend CORS headers ignored."""

from __future__ import annotations

import pytest

from stratus.events.httpapi import HttpResponse
from stratus.local.httpapi.cors import CorsConfig

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
