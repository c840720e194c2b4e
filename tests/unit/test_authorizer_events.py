"""HTTP API Lambda authorizer events and responses (payload format 2.0)."""

from __future__ import annotations

import pytest

from stratus.events import authorizer
from stratus.events.httpapi import HttpRequest, build_event
from tests.events import load_event

REQUEST = HttpRequest(
    method="GET",
    raw_path="/worker/jobs",
    raw_query="token=abc&token=def",
    headers=[("Host", "x"), ("X-Api-Key", "k1"), ("Authorization", "Bearer t")],
    body=b"{}",
    source_ip="1.2.3.4",
)


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["$request.header.x-api-key"], ["k1"]),
        (["$request.header.authorization", "$request.header.X-API-KEY"], ["Bearer t", "k1"]),
        (["$request.querystring.token"], ["abc,def"]),
        (["$context.routeKey"], ["ANY /worker/{proxy+}"]),
        (["$request.header.x-missing"], None),
        (["$request.querystring.Token"], None),  # query string names are case-sensitive
        (["$request.header.x-api-key", "$request.header.x-missing"], None),
    ],
)
def test_identity_sources_are_read_from_the_request(sources: list[str], expected: list[str] | None) -> None:
    assert authorizer.identity(REQUEST, sources, route_key="ANY /worker/{proxy+}") == expected


def test_the_authorizer_event_is_the_request_event_plus_type_route_arn_and_identity_without_body() -> None:
    request_event = build_event(
        REQUEST, route_key="ANY /worker/{proxy+}", path_parameters={"proxy": "jobs"}, api_id="abc",
        account_id="123456789012", domain_name="x", request_id="r",
    )  # fmt: skip
    arn = authorizer.route_arn(region="us-east-1", account_id="123456789012", api_id="abc", stage="$default",
                               method="GET", path="/worker/jobs")  # fmt: skip
    event = authorizer.event(request_event, route_arn=arn, identity_source=["k1"])
    reference = load_event("apiGatewayAuthorizerV2Event.json")
    assert set(event) <= set(reference) | {"pathParameters", "queryStringParameters", "cookies", "stageVariables"}
    assert event["type"] == "REQUEST" and event["identitySource"] == ["k1"]
    assert event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/worker/jobs"
    assert "body" not in event and "isBase64Encoded" not in event


ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/records/7"
OTHER = "arn:aws:execute-api:us-east-1:123456789012:abc/$default/DELETE/records/7"
ONE_LETTER = "arn:aws:execute-api:us-east-1:123456789012:abc/$default/?ET/records/7"  # ? is one character


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
            "context": {"u": "1"}}  # fmt: skip


def statement(effect: str, resource: object, action: object = "execute-api:Invoke") -> dict[str, object]:
    return {"Action": action, "Effect": effect, "Resource": resource}


@pytest.mark.parametrize(
    ("response", "on_arn", "on_other", "context"),
    [
        ({"isAuthorized": True, "context": {"a": 1}}, True, True, {"a": 1}),
        ({"isAuthorized": False}, False, False, {}),
        (policy(statement("Allow", "*")), True, True, {"u": "1"}),
        (policy(statement("Allow", "arn:aws:execute-api:*:*:abc/*/GET/*")), True, False, {"u": "1"}),
        (policy(statement("Allow", [ARN])), True, False, {"u": "1"}),  # the cached policy names one route only
        (policy(statement("Allow", ONE_LETTER)), True, False, {"u": "1"}),
        (policy(statement("Allow", "*"), statement("Deny", OTHER)), True, False, {"u": "1"}),  # Deny wins
        (policy(statement("Deny", "*")), False, False, {"u": "1"}),
        (policy(statement("Allow", "*", action="s3:GetObject")), False, False, {"u": "1"}),  # not an invoke
        (policy(statement("Allow", "*", action=["execute-api:*"])), True, True, {"u": "1"}),
        (policy(), False, False, {"u": "1"}),
    ],
)
def test_simple_responses_decide_every_route_and_policies_the_routes_they_name(
    response: dict[str, object], on_arn: bool, on_other: bool, context: dict[str, object]
) -> None:
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html; a cached
    # policy is applied to later requests' ARNs: https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors
    decision = authorizer.decision(response)
    assert (decision.allows(ARN), decision.allows(OTHER), decision.context) == (on_arn, on_other, context)


@pytest.mark.parametrize(
    "response",
    [
        [], "yes", {"isAuthorized": "true"}, {"context": {}}, {"isAuthorized": True, "context": []},
        policy({"Effect": "Allow"}), policy(statement("Maybe", "*")), policy(statement("Allow", 7)),
        {"principalId": "u", "policyDocument": {"Statement": "Allow"}},
    ],
)  # fmt: skip
def test_malformed_responses_are_refused(response: object) -> None:
    with pytest.raises(authorizer.InvalidAuthorizerResponse):
        authorizer.decision(response)
