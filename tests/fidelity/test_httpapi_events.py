"""The payload format 2.0 event an HTTP API hands a Lambda, compared with what AWS sends for the same request.

The lab (tests/e2e/lab.py) routes ``ANY /lab`` and ``ANY /lab/{proxy+}`` to a function that answers
``/lab/echo`` with the event it received. Shapes (keys and value types) are compared with AWS's samples in
tests/events/: ``apiGatewayProxyV2Event.json`` (the documentation's example, the one Powertools tests with) and
``apiGatewayProxyV2CapturedGetEvent.json`` (an event captured behind a real HTTP API); values are compared with what
the request implies.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import datetime
from typing import Any

import pytest

from stratus.testing.launcher import DevStack
from tests.events import load_event

pytestmark = pytest.mark.e2e

PAYLOAD = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html"
ROUTES = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html"
CAPTURED = "OBS tests/events/apiGatewayProxyV2CapturedGetEvent.json (a GET captured behind a real HTTP API, 4DN docs)"
BODIES = (
    "OBS ministackorg/ministack#766 (checked against AWS: a body is text only for text/*, application/json, "
    "application/xml, application/javascript; anything else is base64)"
)

# Keys AWS adds only in situations the lab's routes are not in: mutual TLS, an authorizer, stage variables.
CONDITIONAL = {"authentication", "authorizer"}


def echo(lab: DevStack, path: str = "/lab/echo", method: str = "GET", **kwargs: Any) -> dict[str, Any]:
    response = lab.client.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def full(lab: DevStack) -> dict[str, Any]:
    """The event of a request with a query, a cookie and a text body: every optional key present."""
    headers = {"content-type": "text/plain", "cookie": "a=1"}
    return echo(lab, "/lab/echo?q=1", method="POST", content="hi", headers=headers)


def shape(value: Any) -> Any:
    """The JSON types of ``value``, recursively for objects: what two events must share to have one shape."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


# --------------------------------------------------------------------------------------------- the event's shape


@pytest.mark.aws(PAYLOAD + " (payload format 2.0 example)")
def test_the_event_has_the_top_level_keys_of_awss_example_and_no_others(lab: DevStack) -> None:
    event = full(lab)
    sample = load_event("apiGatewayProxyV2Event")
    assert set(event) == set(sample) - {"stageVariables"}


@pytest.mark.aws(PAYLOAD + " (payload format 2.0 example)")
def test_the_events_values_have_the_json_types_of_awss_example(lab: DevStack) -> None:
    event = full(lab)
    sample = load_event("apiGatewayProxyV2Event")
    for key in set(event) - {"headers", "requestContext", "queryStringParameters", "pathParameters"}:
        assert shape(event[key]) == shape(sample[key]), key
    for key in ("headers", "queryStringParameters", "pathParameters"):
        assert {type(v) for v in event[key].values()} == {str}, key


@pytest.mark.aws(CAPTURED)
def test_a_plain_get_has_exactly_the_keys_of_the_captured_get(lab: DevStack) -> None:
    event = echo(lab, "/lab/echo?echoevent=true")
    captured = load_event("apiGatewayProxyV2CapturedGetEvent")
    assert set(event) - {"pathParameters"} == set(captured)
    assert shape(event["requestContext"]) == shape(captured["requestContext"])


@pytest.mark.aws(PAYLOAD + " (payload format 2.0 example: requestContext)")
def test_the_request_context_has_the_keys_of_awss_example(lab: DevStack) -> None:
    context = echo(lab)["requestContext"]
    sample = load_event("apiGatewayProxyV2Event")["requestContext"]
    assert set(context) == set(sample) - CONDITIONAL
    assert set(context["http"]) == set(sample["http"])


@pytest.mark.aws(CAPTURED + "; aws-behaviour.md A1 (requestContext.authorizer absent on a route without one)")
def test_a_route_without_an_authorizer_has_no_authorizer_in_its_context(lab: DevStack) -> None:
    assert "authorizer" not in echo(lab)["requestContext"]


@pytest.mark.aws(PAYLOAD + " (version: 2.0)")
def test_the_version_is_2_0(lab: DevStack) -> None:
    assert echo(lab)["version"] == "2.0"


# -------------------------------------------------------------------------------------------- path and route


@pytest.mark.aws(ROUTES + " (a greedy path variable {proxy+} catches the rest of the path)")
def test_the_route_key_is_the_matched_greedy_route(lab: DevStack) -> None:
    event = echo(lab, "/lab/echo")
    assert event["routeKey"] == "ANY /lab/{proxy+}"
    assert event["requestContext"]["routeKey"] == event["routeKey"]


@pytest.mark.aws(ROUTES + " (greedy path variable); " + PAYLOAD + " (pathParameters)")
def test_the_greedy_variable_holds_the_rest_of_the_path(lab: DevStack) -> None:
    assert echo(lab, "/lab/echo")["pathParameters"] == {"proxy": "echo"}


@pytest.mark.aws(PAYLOAD + " (rawPath: the path, without the query string)")
def test_the_raw_path_is_the_requested_path_without_its_query(lab: DevStack) -> None:
    event = echo(lab, "/lab/echo?q=1")
    assert event["rawPath"] == "/lab/echo"
    assert event["requestContext"]["http"]["path"] == "/lab/echo"


@pytest.mark.aws("OBS fastify/aws-lambda-fastify#169, honojs/hono#2156 (HTTP APIs hand the Lambda the decoded path)")
def test_a_percent_encoded_path_arrives_decoded(lab: DevStack) -> None:
    event = echo(lab, "/lab/%65cho")  # %65 is "e": the function sees /lab/echo
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/lab/echo"
    assert event["pathParameters"] == {"proxy": "echo"}


@pytest.mark.aws(ROUTES + ' (no route: 404 {"message":"Not Found"})')
def test_a_path_no_route_matches_is_a_404_not_found(lab: DevStack) -> None:
    response = lab.client.get("/no-such-service/anything")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


# ---------------------------------------------------------------------------------------------- query string


@pytest.mark.aws(PAYLOAD + " (rawQueryString as sent)")
def test_the_raw_query_string_is_the_query_exactly_as_sent(lab: DevStack) -> None:
    assert echo(lab, "/lab/echo?b=x%20y&a=1&a=2")["rawQueryString"] == "b=x%20y&a=1&a=2"


@pytest.mark.aws(CAPTURED + " (rawQueryString is always present)")
def test_without_a_query_the_raw_query_string_is_empty_and_the_parameters_absent(lab: DevStack) -> None:
    event = echo(lab)
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


@pytest.mark.aws(PAYLOAD + " ('Duplicate query strings are combined with commas')")
def test_repeated_query_keys_are_joined_with_commas(lab: DevStack) -> None:
    assert echo(lab, "/lab/echo?a=1&a=2&a=3&b=x")["queryStringParameters"] == {"a": "1,2,3", "b": "x"}


@pytest.mark.aws(ROUTES + " ('API Gateway decodes URL-encoded request parameters')")
def test_query_parameter_values_are_url_decoded(lab: DevStack) -> None:
    assert echo(lab, "/lab/echo?b=x%20y%26z")["queryStringParameters"] == {"b": "x y&z"}


# --------------------------------------------------------------------------------------------------- headers


@pytest.mark.aws(PAYLOAD + " (the example's header names are lower-case: 'All header names are lowercased')")
def test_header_names_are_lower_cased(lab: DevStack) -> None:
    headers = echo(lab, headers={"X-Custom-Header": "Value"})["headers"]
    assert headers["x-custom-header"] == "Value"
    assert not [name for name in headers if name != name.lower()]


@pytest.mark.aws(PAYLOAD + " ('Duplicate headers are combined with commas and included in the headers field')")
def test_a_repeated_header_is_joined_with_commas(lab: DevStack) -> None:
    headers = echo(lab, headers=[("x-multi", "1"), ("X-Multi", "2")])["headers"]
    assert headers["x-multi"] == "1,2"


@pytest.mark.aws(CAPTURED + " (content-length, x-amzn-trace-id, x-forwarded-for/-port/-proto)")
def test_the_api_adds_the_forwarding_headers_aws_adds(lab: DevStack) -> None:
    headers = echo(lab)["headers"]
    assert {"content-length", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} <= set(
        headers
    )


@pytest.mark.aws(CAPTURED + " (a GET without a body: content-length 0)")
def test_a_get_without_a_body_has_content_length_0(lab: DevStack) -> None:
    assert echo(lab)["headers"]["content-length"] == "0"


@pytest.mark.aws(CAPTURED + " (x-forwarded-for is the caller's address, requestContext.http.sourceIp)")
def test_x_forwarded_for_is_the_callers_address(lab: DevStack) -> None:
    event = echo(lab)
    assert event["headers"]["x-forwarded-for"] == event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


@pytest.mark.aws(
    "DOC https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader "
    "(Root=1-<8 hex digits: epoch seconds>-<24 hex digits>)"
)
def test_the_trace_id_header_has_x_rays_format(lab: DevStack) -> None:
    before = int(time.time())
    trace = echo(lab)["headers"]["x-amzn-trace-id"]
    match = re.fullmatch(r"Root=1-([0-9a-f]{8})-[0-9a-f]{24}", trace)
    assert match is not None, trace
    assert abs(int(match.group(1), 16) - before) <= 5


# --------------------------------------------------------------------------------------------------- cookies


@pytest.mark.aws(PAYLOAD + " ('All cookie headers in the request are combined ... and added to the cookies field')")
def test_the_cookie_header_becomes_the_cookies_list(lab: DevStack) -> None:
    assert echo(lab, headers={"cookie": "c1=1; c2=two"})["cookies"] == ["c1=1", "c2=two"]


@pytest.mark.aws(CAPTURED + " (no Cookie header: no cookies key)")
def test_without_a_cookie_header_there_is_no_cookies_key(lab: DevStack) -> None:
    assert "cookies" not in echo(lab)


# ------------------------------------------------------------------------------------------- requestContext


@pytest.mark.aws(PAYLOAD + " (requestContext.accountId: the API owner's 12-digit account)")
def test_the_account_id_is_the_stacks_account(lab: DevStack) -> None:
    assert echo(lab)["requestContext"]["accountId"] == "123456789012"


@pytest.mark.aws(CAPTURED + " (apiId '505darvwgc': 10 lower-case letters and digits)")
def test_the_api_id_looks_like_an_api_gateway_id(lab: DevStack) -> None:
    api_id = echo(lab)["requestContext"]["apiId"]
    assert re.fullmatch(r"[a-z0-9]{10}", api_id), api_id
    assert echo(lab)["requestContext"]["apiId"] == api_id


@pytest.mark.aws(CAPTURED + " (domainPrefix is the first label of domainName)")
def test_the_domain_prefix_is_the_first_label_of_the_domain_name(lab: DevStack) -> None:
    context = echo(lab)["requestContext"]
    assert context["domainName"].split(".")[0] == context["domainPrefix"]


@pytest.mark.aws(PAYLOAD + " (requestContext.http.method)")
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_method_is_the_requests(lab: DevStack, method: str) -> None:
    assert echo(lab, method=method)["requestContext"]["http"]["method"] == method


@pytest.mark.aws(PAYLOAD + " (requestContext.http.protocol, HTTP/1.1 in the example)")
def test_the_protocol_is_the_requests(lab: DevStack) -> None:
    assert echo(lab)["requestContext"]["http"]["protocol"] == "HTTP/1.1"


@pytest.mark.aws(CAPTURED + " (http.userAgent is the User-Agent header: curl/7.64.1)")
def test_the_user_agent_is_the_requests_user_agent_header(lab: DevStack) -> None:
    event = echo(lab, headers={"user-agent": "curl/7.64.1"})
    assert event["requestContext"]["http"]["userAgent"] == "curl/7.64.1" == event["headers"]["user-agent"]


@pytest.mark.aws(PAYLOAD + " (stage: $default)")
def test_the_stage_is_default(lab: DevStack) -> None:
    assert echo(lab)["requestContext"]["stage"] == "$default"


@pytest.mark.aws(PAYLOAD + " (time '12/Mar/2020:19:03:58 +0000', timeEpoch in milliseconds)")
def test_the_request_time_is_formatted_as_aws_formats_it_and_agrees_with_time_epoch(lab: DevStack) -> None:
    before = time.time()
    context = echo(lab)["requestContext"]
    after = time.time()
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"]), context["time"]
    assert type(context["timeEpoch"]) is int and before * 1000 - 1000 <= context["timeEpoch"] <= after * 1000
    parsed = datetime.strptime(context["time"], "%d/%b/%Y:%H:%M:%S %z")
    assert int(parsed.timestamp()) == context["timeEpoch"] // 1000


# ------------------------------------------------------------------------------------------------------ body


@pytest.mark.aws(BODIES)
def test_a_text_body_is_passed_as_it_is(lab: DevStack) -> None:
    event = echo(lab, method="POST", content="héllo", headers={"content-type": "text/plain; charset=utf-8"})
    assert (event["body"], event["isBase64Encoded"]) == ("héllo", False)


@pytest.mark.aws(BODIES)
def test_a_json_body_is_passed_as_text(lab: DevStack) -> None:
    event = echo(lab, method="POST", json={"a": [1, 2]})
    assert (event["body"], event["isBase64Encoded"]) == ('{"a":[1,2]}', False)


@pytest.mark.aws(BODIES)
def test_a_binary_body_is_base64_encoded(lab: DevStack) -> None:
    payload = bytes(range(256))
    event = echo(lab, method="POST", content=payload, headers={"content-type": "application/octet-stream"})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


@pytest.mark.aws(BODIES + " (a form body too)")
def test_a_form_body_is_base64_encoded(lab: DevStack) -> None:
    event = echo(lab, method="POST", data={"a": "1", "b": "x y"})
    assert event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert (base64.b64decode(event["body"]), event["isBase64Encoded"]) == (b"a=1&b=x+y", True)


@pytest.mark.aws(BODIES + " (a body without a Content-Type too)")
def test_a_body_without_a_content_type_is_base64_encoded(lab: DevStack) -> None:
    event = echo(lab, method="POST", content=b"plain words")
    assert "content-type" not in event["headers"]
    assert (base64.b64decode(event["body"]), event["isBase64Encoded"]) == (b"plain words", True)


@pytest.mark.aws(CAPTURED + " (a GET without a body: no body key, isBase64Encoded false)")
def test_a_request_without_a_body_has_no_body_key(lab: DevStack) -> None:
    event = echo(lab)
    assert "body" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.aws(CAPTURED + " (content-length is present: the length of the body in bytes)")
def test_the_content_length_header_is_the_bodys_length(lab: DevStack) -> None:
    event = echo(lab, method="POST", content="héllo".encode(), headers={"content-type": "text/plain"})
    assert event["headers"]["content-length"] == str(len("héllo".encode()))
