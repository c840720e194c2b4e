"""The HTTP API payload format 2.0 adapter: events built, responses parsed, gateway errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from stratus.events.httpapi import (
    HttpRequest,
    HttpResponse,
    InvalidLambdaResponse,
    build_event,
    format_request_time,
    gateway_error,
    parse_response,
)
from tests.events import load_event

AWS_EXAMPLE = load_event("apiGatewayProxyV2Event")
CAPTURED_GET = load_event("apiGatewayProxyV2CapturedGetEvent")

# Headers API Gateway adds to every event (the emulator's values are true to the local connection).
GATEWAY_HEADERS = {"content-length", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


def make_request(
    method: str = "GET",
    raw_path: str = "/",
    raw_query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    source_ip: str = "127.0.0.1",
) -> HttpRequest:
    return HttpRequest(method, raw_path, raw_query, headers or [("Host", "localhost:8080")], body, source_ip)


def event_for(request: HttpRequest, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "route_key": "$default",
        "path_parameters": None,
        "api_id": "local",
        "account_id": "000000000000",
        "domain_name": "local.execute-api.localhost",
        "request_id": "req-1",
        "time_epoch_ms": 1_700_000_000_000,
    }
    arguments.update(overrides)
    return build_event(request, **arguments)


# --- AWS's published example, rebuilt from the request it describes ---------------------------

EXAMPLE_REQUEST = HttpRequest(
    method="POST",
    raw_path="/my/path",
    raw_query="parameter1=value1&parameter1=value2&parameter2=value",
    headers=[
        ("Header1", "value1"),
        ("Header2", "value1"),
        ("Cookie", "cookie1; cookie2"),
        ("Header2", "value2"),
        ("User-Agent", "agent"),
        ("Content-Type", "text/plain"),
    ],
    body=b"Hello from Lambda",
    source_ip="IP",
)
EXAMPLE_EVENT = build_event(
    EXAMPLE_REQUEST,
    route_key="$default",
    path_parameters={"parameter1": "value1"},
    api_id="api-id",
    account_id="123456789012",
    domain_name="id.execute-api.us-east-1.amazonaws.com",
    request_id="id",
    time_epoch_ms=AWS_EXAMPLE["requestContext"]["timeEpoch"],
    authorizer=AWS_EXAMPLE["requestContext"]["authorizer"],
    stage_variables=AWS_EXAMPLE["stageVariables"],
)


@pytest.mark.parametrize(
    "key",
    [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "queryStringParameters",
        "body",
        "pathParameters",
        "isBase64Encoded",
        "stageVariables",
    ],
)
def test_an_event_for_the_request_in_aws_example_has_the_example_top_level_field(key: str) -> None:
    # GIVEN the request AWS's published example describes
    # WHEN the event is built (EXAMPLE_EVENT)
    # THEN the top-level field is the example's
    assert EXAMPLE_EVENT[key] == AWS_EXAMPLE[key]


def test_an_event_for_the_request_in_aws_example_has_exactly_the_example_top_level_keys() -> None:
    assert set(EXAMPLE_EVENT) == set(AWS_EXAMPLE)


@pytest.mark.parametrize(
    "key",
    ["accountId", "apiId", "authorizer", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage"],
)
def test_an_event_for_the_request_in_aws_example_has_the_example_request_context_field(key: str) -> None:
    assert EXAMPLE_EVENT["requestContext"][key] == AWS_EXAMPLE["requestContext"][key]


def test_an_event_for_aws_example_has_the_example_request_context_keys_but_the_mutual_tls_one() -> None:
    # THEN only `authentication` (present with mutual TLS only, which the emulator has not) is missing
    assert set(AWS_EXAMPLE["requestContext"]) - set(EXAMPLE_EVENT["requestContext"]) == {"authentication"}
    assert set(EXAMPLE_EVENT["requestContext"]) <= set(AWS_EXAMPLE["requestContext"])


def test_an_event_for_aws_example_has_the_example_headers_plus_what_the_client_and_gateway_add() -> None:
    headers = EXAMPLE_EVENT["headers"]
    assert {key: headers[key] for key in AWS_EXAMPLE["headers"]} == AWS_EXAMPLE["headers"]
    assert set(headers) - set(AWS_EXAMPLE["headers"]) == {"user-agent", "content-type"} | GATEWAY_HEADERS


def test_an_events_time_is_its_time_epoch_in_aws_format() -> None:
    # The example's own `time` and `timeEpoch` disagree (04 Mar vs 12 Mar); the epoch is the truth.
    assert EXAMPLE_EVENT["requestContext"]["timeEpoch"] == AWS_EXAMPLE["requestContext"]["timeEpoch"]
    assert EXAMPLE_EVENT["requestContext"]["time"] == "04/Mar/2020:19:03:58 +0000"


def test_an_event_serialises_to_json() -> None:
    assert json.loads(json.dumps(EXAMPLE_EVENT)) == EXAMPLE_EVENT


# --- A real captured GET ------------------------------------------------------------------------

CAPTURED_REQUEST = HttpRequest(
    method="GET",
    raw_path="/4dn-status",
    raw_query="echoevent=true",
    headers=[
        ("Host", "505darvwgc.execute-api.us-east-1.amazonaws.com"),
        ("User-Agent", "curl/7.64.1"),
        ("Accept", "*/*"),
    ],
    body=b"",
    source_ip="1.2.3.4",
)
CAPTURED_REBUILT = build_event(
    CAPTURED_REQUEST,
    route_key="ANY /4dn-status",
    path_parameters=None,
    api_id="505darvwgc",
    account_id="123456789012",
    domain_name="505darvwgc.execute-api.us-east-1.amazonaws.com",
    request_id="...",
    time_epoch_ms=CAPTURED_GET["requestContext"]["timeEpoch"],
)


def test_an_event_for_a_bodyless_get_has_exactly_the_captured_top_level_keys() -> None:
    # THEN cookies, body, pathParameters, stageVariables are absent, not null
    assert set(CAPTURED_REBUILT) == set(CAPTURED_GET)


def test_an_event_for_a_bodyless_get_has_exactly_the_captured_header_names() -> None:
    assert set(CAPTURED_REBUILT["headers"]) == set(CAPTURED_GET["headers"])


@pytest.mark.parametrize("header", ["accept", "content-length", "host", "user-agent", "x-forwarded-for"])
def test_an_event_for_a_bodyless_get_has_the_captured_header_value(header: str) -> None:
    assert CAPTURED_REBUILT["headers"][header] == CAPTURED_GET["headers"][header]


def test_an_event_for_a_bodyless_get_has_the_captured_request_context() -> None:
    assert CAPTURED_REBUILT["requestContext"] == CAPTURED_GET["requestContext"]


@pytest.mark.parametrize("key", ["version", "routeKey", "rawPath", "rawQueryString", "queryStringParameters"])
def test_an_event_for_a_bodyless_get_has_the_captured_field(key: str) -> None:
    assert CAPTURED_REBUILT[key] == CAPTURED_GET[key]


# --- Headers and cookies ------------------------------------------------------------------------


def test_header_names_are_lower_cased_and_repeats_joined_with_commas() -> None:
    event = event_for(make_request(headers=[("Accept", "a"), ("X-Thing", "1"), ("x-thing", "2"), ("X-THING", "3")]))
    assert event["headers"]["accept"] == "a"
    assert event["headers"]["x-thing"] == "1,2,3"


def test_cookies_from_every_cookie_header_become_the_cookies_list_and_leave_headers() -> None:
    # GIVEN two Cookie headers
    request = make_request(headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3")])
    # WHEN the event is built
    event = event_for(request)
    # THEN every cookie is in `cookies`, and there is no `cookie` header
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


def test_an_event_without_cookies_has_no_cookies_key() -> None:
    assert "cookies" not in event_for(make_request())


@pytest.mark.parametrize(
    ("client_value", "expected"),
    [
        (None, "203.0.113.7"),
        ("6.6.6.6", "6.6.6.6, 203.0.113.7"),
        ("6.6.6.6, 7.7.7.7", "6.6.6.6, 7.7.7.7, 203.0.113.7"),
    ],
)
def test_x_forwarded_for_ends_with_the_true_source_ip_whatever_the_client_sent(
    client_value: str | None, expected: str
) -> None:
    # GIVEN a client that may claim an X-Forwarded-For of its own
    headers = [("Host", "localhost:8080")]
    if client_value is not None:
        headers.append(("X-Forwarded-For", client_value))
    # WHEN the event is built
    event = event_for(make_request(headers=headers, source_ip="203.0.113.7"))
    # THEN the rightmost address is the peer's, and sourceIp is the peer's alone
    assert event["headers"]["x-forwarded-for"] == expected
    assert event["headers"]["x-forwarded-for"].rsplit(", ", 1)[-1] == "203.0.113.7"
    assert event["requestContext"]["http"]["sourceIp"] == "203.0.113.7"


def test_client_sent_x_forwarded_proto_and_port_are_replaced_by_the_local_connections() -> None:
    request = make_request(
        headers=[("Host", "localhost:8080"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443")]
    )
    headers = event_for(request)["headers"]
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == "8080"


@pytest.mark.parametrize(
    ("host", "port"),
    [("localhost:8080", "8080"), ("localhost", "80"), ("[::1]:9000", "9000"), ("[::1]", "80"), (None, "80")],
)
def test_x_forwarded_port_is_the_port_of_the_host_header_or_80(host: str | None, port: str) -> None:
    headers = [("Host", host)] if host is not None else [("Accept", "*/*")]
    assert event_for(make_request(headers=headers))["headers"]["x-forwarded-port"] == port


def test_content_length_is_always_the_length_of_the_body() -> None:
    event = event_for(make_request("POST", headers=[("Content-Length", "999")], body=b"12345"))
    assert event["headers"]["content-length"] == "5"


def test_a_trace_id_is_added_in_x_ray_shape_when_the_client_sent_none() -> None:
    trace_id = event_for(make_request())["headers"]["x-amzn-trace-id"]
    root, epoch, unique = trace_id.split("-")
    assert root == "Root=1"
    assert int(epoch, 16) == 1_700_000_000
    assert len(unique) == 24
    assert int(unique, 16) >= 0


def test_a_client_sent_trace_id_is_kept() -> None:
    event = event_for(make_request(headers=[("X-Amzn-Trace-Id", "Root=1-abc-def")]))
    assert event["headers"]["x-amzn-trace-id"] == "Root=1-abc-def"


def test_user_agent_is_empty_when_the_client_sent_none() -> None:
    assert event_for(make_request())["requestContext"]["http"]["userAgent"] == ""


# --- Path and query -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "raw_path_in_event"),
    [
        ("/worker/jobs", "/worker/jobs"),
        ("/path%20with/space", "/path with/space"),
        ("/a%2Fb", "/a/b"),
        ("/RSC/%40id%2Fassets", "/RSC/@id/assets"),
        ("/thing/", "/thing/"),
        ("/path%with/percent", "/path%with/percent"),
        ("/caf%C3%A9", "/café"),
    ],
)
def test_raw_path_and_http_path_are_the_path_decoded_once(raw_path: str, raw_path_in_event: str) -> None:
    event = event_for(make_request(raw_path=raw_path))
    assert event["rawPath"] == raw_path_in_event
    assert event["requestContext"]["http"]["path"] == raw_path_in_event


@pytest.mark.parametrize(
    ("raw_query", "parameters"),
    [
        ("a=1", {"a": "1"}),
        ("a=1&a=2&b=3", {"a": "1,2", "b": "3"}),
        ("scope=openid%20profile", {"scope": "openid profile"}),
        ("q=a+b", {"q": "a b"}),
        ("plus=%2B", {"plus": "+"}),
        ("flag", {"flag": ""}),
        ("flag=&x=1", {"flag": "", "x": "1"}),
    ],
)
def test_query_string_parameters_are_decoded_and_repeats_joined_with_commas(
    raw_query: str, parameters: dict[str, str]
) -> None:
    event = event_for(make_request(raw_query=raw_query))
    assert event["queryStringParameters"] == parameters
    assert event["rawQueryString"] == raw_query


def test_an_event_without_a_query_has_an_empty_raw_query_string_and_no_parameters() -> None:
    event = event_for(make_request())
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


# --- Body ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/html; charset=utf-8",
        "TEXT/CSV",
        "application/json",
        "application/json; charset=utf-8",
        "application/xml",
        "application/javascript",
    ],
)
def test_a_body_of_a_text_content_type_is_passed_as_text(content_type: str) -> None:
    event = event_for(make_request("POST", headers=[("Content-Type", content_type)], body=b'{"x": "\xc3\xa9"}'))
    assert event["body"] == '{"x": "é"}'
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "application/octet-stream", "image/png", "multipart/form-data"],
)
def test_a_body_of_any_other_or_no_content_type_is_passed_as_base64(content_type: str | None) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = event_for(make_request("POST", headers=headers, body=b"a=1&b=2"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"a=1&b=2"


def test_a_text_body_that_is_not_utf8_is_passed_as_base64() -> None:
    event = event_for(make_request("POST", headers=[("Content-Type", "text/plain")], body=b"\xff\xfe"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_an_empty_body_is_absent_and_not_base64() -> None:
    event = event_for(make_request("POST", headers=[("Content-Type", "image/png")]))
    assert "body" not in event
    assert event["isBase64Encoded"] is False


# --- Optional parts -----------------------------------------------------------------------------


@pytest.mark.parametrize("path_parameters", [None, {}])
def test_path_parameters_are_absent_when_the_route_has_none(path_parameters: dict[str, str] | None) -> None:
    assert "pathParameters" not in event_for(make_request(), path_parameters=path_parameters)


@pytest.mark.parametrize("stage_variables", [None, {}])
def test_stage_variables_are_absent_when_the_stage_has_none(stage_variables: dict[str, str] | None) -> None:
    assert "stageVariables" not in event_for(make_request(), stage_variables=stage_variables)


def test_the_authorizer_is_absent_on_a_route_without_one() -> None:
    assert "authorizer" not in event_for(make_request())["requestContext"]


def test_the_authorizer_context_is_passed_as_given() -> None:
    context = {"lambda": {"user_id": "u1", "scopes": ["a"], "admin": True, "n": 3}}
    assert event_for(make_request(), authorizer=context)["requestContext"]["authorizer"] == context


def test_a_named_stage_and_domain_prefix_are_reported() -> None:
    context = event_for(make_request(), stage="dev", domain_name="abc.execute-api.localhost")["requestContext"]
    assert context["stage"] == "dev"
    assert context["domainPrefix"] == "abc"


def test_time_epoch_defaults_to_now_in_milliseconds() -> None:
    event = build_event(
        make_request(),
        route_key="$default",
        path_parameters=None,
        api_id="a",
        account_id="0",
        domain_name="a.b",
        request_id="r",
    )
    assert event["requestContext"]["timeEpoch"] > 1_700_000_000_000


@pytest.mark.parametrize(
    ("epoch_ms", "text"),
    [
        (1_604_039_624_859, "30/Oct/2020:06:33:44 +0000"),
        (1_583_348_638_390, "04/Mar/2020:19:03:58 +0000"),
        (0, "01/Jan/1970:00:00:00 +0000"),
    ],
)
def test_request_time_is_formatted_like_api_gateway(epoch_ms: int, text: str) -> None:
    assert format_request_time(epoch_ms) == text


# --- Responses ----------------------------------------------------------------------------------


def test_a_full_form_response_gives_its_status_headers_cookies_and_body() -> None:
    # GIVEN a full-form result with non-string header values and cookies
    result = load_event("apiGatewayProxyV2Response")
    # WHEN it is parsed
    response = parse_response(result)
    # THEN names are lower-cased, numbers and booleans are their JSON text, each cookie is a set-cookie
    assert response == HttpResponse(
        201,
        [
            ("content-type", "application/json"),
            ("x-request-count", "3"),
            ("x-cached", "false"),
            ("set-cookie", "session=abc; Path=/; HttpOnly"),
            ("set-cookie", "theme=dark"),
        ],
        b'{"id":"42"}',
    )


def test_a_base64_response_body_is_decoded() -> None:
    response = parse_response(load_event("apiGatewayProxyV2ResponseBase64"))
    assert response.body == base64.b64decode("iVBORw0KGgo=")
    assert response.headers == [("content-type", "image/png")]


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ("Hello from Lambda!", b"Hello from Lambda!"),
        ({"message": "Hello from Lambda!"}, b'{"message":"Hello from Lambda!"}'),
        ({"body": "hi"}, b'{"body":"hi"}'),
        ([1, "two"], b'[1,"two"]'),
        (42, b"42"),
        (True, b"true"),
        (None, b"null"),
        ({"name": "café"}, '{"name":"café"}'.encode()),
    ],
)
def test_a_result_without_status_code_is_a_200_json_response_of_that_result(result: Any, body: bytes) -> None:
    assert parse_response(result) == HttpResponse(200, [("content-type", "application/json")], body)


def test_a_full_form_response_may_omit_everything_but_the_status() -> None:
    assert parse_response({"statusCode": 204}) == HttpResponse(204, [], b"")


def test_null_header_values_are_dropped() -> None:
    assert parse_response({"statusCode": 200, "headers": {"content-type": None, "x-a": "1"}}).headers == [("x-a", "1")]


@pytest.mark.parametrize("name", ["Content-Length", "transfer-encoding", "Connection"])
def test_framing_headers_from_the_lambda_are_dropped(name: str) -> None:
    response = parse_response({"statusCode": 200, "headers": {name: "5", "x-a": "1"}, "body": "hello"})
    assert response.headers == [("x-a", "1"), ("content-type", "text/plain; charset=utf-8")]


def test_a_float_header_value_is_its_json_text() -> None:
    assert parse_response({"statusCode": 200, "headers": {"x-ratio": 1.5}}).headers == [("x-ratio", "1.5")]


def test_unknown_keys_in_a_full_form_response_are_ignored() -> None:
    result = {"statusCode": 200, "body": "ok", "multiValueHeaders": {"x": ["1"]}, "extra": 1}
    assert parse_response(result) == HttpResponse(200, [("content-type", "text/plain; charset=utf-8")], b"ok")


def test_a_full_form_response_with_a_body_and_no_content_type_is_text_plain() -> None:
    # API Gateway adds it (captures: fujiwara/ridge#9, quarkus#15909, aws-lambda-go-api-proxy#116)
    assert parse_response({"statusCode": 201, "body": '{"a":1}'}).headers == [
        ("content-type", "text/plain; charset=utf-8")
    ]
    declared = parse_response({"statusCode": 200, "headers": {"Content-Type": "text/csv"}, "body": "a,b"})
    assert declared.headers == [("content-type", "text/csv")]
    assert parse_response({"statusCode": 204}).headers == []  # no body, nothing to describe


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"statusCode": "200"}, id="status code as a string"),
        pytest.param({"statusCode": 200.0}, id="status code as a float"),
        pytest.param({"statusCode": True}, id="status code as a boolean"),
        pytest.param({"statusCode": None}, id="status code null"),
        pytest.param({"statusCode": 99}, id="status code below 100"),
        pytest.param({"statusCode": 600}, id="status code above 599"),
        pytest.param({"statusCode": 200, "headers": ["a"]}, id="headers not an object"),
        pytest.param({"statusCode": 200, "headers": {"x-a": ["1", "2"]}}, id="header value a list"),
        pytest.param({"statusCode": 200, "headers": {"x-a": {"b": 1}}}, id="header value an object"),
        pytest.param({"statusCode": 200, "headers": {"bad name": "1"}}, id="header name with a space"),
        pytest.param({"statusCode": 200, "headers": {"": "1"}}, id="empty header name"),
        pytest.param({"statusCode": 200, "headers": {"x-a": "1\r\nx-b: 2"}}, id="header value with a line break"),
        pytest.param({"statusCode": 200, "headers": {"x-a": float("nan")}}, id="header value not finite"),
        pytest.param({"statusCode": 200, "body": {"a": 1}}, id="body an object"),
        pytest.param({"statusCode": 200, "body": 5}, id="body a number"),
        pytest.param({"statusCode": 200, "body": "\ud800"}, id="body a lone surrogate"),
        pytest.param({"statusCode": 200, "body": "x", "isBase64Encoded": "true"}, id="isBase64Encoded a string"),
        pytest.param({"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}, id="bad base64"),
        pytest.param({"statusCode": 200, "cookies": "a=1"}, id="cookies not a list"),
        pytest.param({"statusCode": 200, "cookies": [1]}, id="cookie not a string"),
        pytest.param({"statusCode": 200, "cookies": ["a=1\nb"]}, id="cookie with a line break"),
        pytest.param(float("nan"), id="result not JSON"),
    ],
)
def test_a_malformed_lambda_result_is_an_invalid_lambda_response(result: Any) -> None:
    with pytest.raises(InvalidLambdaResponse):
        parse_response(result)


def test_an_invalid_lambda_response_is_a_value_error() -> None:
    assert issubclass(InvalidLambdaResponse, ValueError)


@pytest.mark.parametrize(
    ("status", "message", "body"),
    [
        (404, "Not Found", b'{"message":"Not Found"}'),
        (500, "Internal Server Error", b'{"message":"Internal Server Error"}'),
        (503, "Service Unavailable", b'{"message":"Service Unavailable"}'),
        (429, "Too Many Requests", b'{"message":"Too Many Requests"}'),
        (401, "Unauthorized", b'{"message":"Unauthorized"}'),
        (403, "Forbidden", b'{"message":"Forbidden"}'),
    ],
)
def test_a_gateway_error_is_a_json_message_with_aws_status(status: int, message: str, body: bytes) -> None:
    assert gateway_error(status, message) == HttpResponse(status, [("content-type", "application/json")], body)
