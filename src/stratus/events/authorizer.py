"""HTTP API Lambda REQUEST authorizer, payload format 2.0
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).

The event is the request's payload 2.0 event plus ``type: "REQUEST"``, ``routeArn`` and ``identitySource``
(the identity sources' VALUES, in configured order); it has no ``body`` or ``isBase64Encoded``. Identity
sources: ``$request.header.NAME`` (case-insensitive), ``$request.querystring.NAME`` (case-sensitive),
``$context.VAR``, ``$stageVariables.VAR``; if any is missing, API Gateway answers 401 without calling the
authorizer.

Responses: simple (``{"isAuthorized": bool, "context": {...}}``) or an IAM policy
(``{"principalId", "policyDocument": {"Statement": [{"Action": "execute-api:Invoke", "Effect", "Resource"}]},
"context"}``). The context reaches the integration as ``requestContext.authorizer.lambda``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from stratus.events.httpapi import HttpRequest


class InvalidAuthorizerResponse(ValueError):
    """The authorizer answered something API Gateway cannot use (it then answers 500)."""


def identity(request: HttpRequest, sources: list[str], *, route_key: str, stage: str = "$default") -> list[str] | None:
    """The values of ``sources`` in this request, or None when one is missing (-> 401)."""
    values: list[str] = []
    for source in sources:
        value: str | None = None
        if source.startswith("$request.header."):
            name = source.removeprefix("$request.header.").lower()
            found = [v for k, v in request.headers if k.lower() == name]
            value = ",".join(found) if found else None
        elif source.startswith("$request.querystring."):
            name = source.removeprefix("$request.querystring.")
            found = [v for k, v in parse_qsl(request.raw_query, keep_blank_values=True) if k == name]
            value = ",".join(found) if found else None
        elif source == "$context.routeKey":
            value = route_key
        elif source == "$context.stage":
            value = stage
        if not value:
            return None
        values.append(value)
    return values


def route_arn(*, region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}{path}"


def event(request_event: dict[str, Any], *, route_arn: str, identity_source: list[str]) -> dict[str, Any]:
    """The authorizer's event, from the request's payload 2.0 event."""
    out = {k: v for k, v in request_event.items() if k not in ("body", "isBase64Encoded")}
    out["type"] = "REQUEST"
    out["routeArn"] = route_arn
    out["identitySource"] = identity_source
    return out


def decision(result: Any) -> tuple[bool, dict[str, Any]]:
    """(allowed, context) from a simple or IAM policy response."""
    if not isinstance(result, dict):
        raise InvalidAuthorizerResponse("the authorizer's response is not a JSON object")
    context = result.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise InvalidAuthorizerResponse("context must be an object")
    if "isAuthorized" in result:
        if not isinstance(result["isAuthorized"], bool):
            raise InvalidAuthorizerResponse("isAuthorized must be a boolean")
        return result["isAuthorized"], context
    policy = result.get("policyDocument")
    if isinstance(policy, dict):
        statements = policy.get("Statement") or []
        if isinstance(statements, dict):
            statements = [statements]
        effects = {s.get("Effect") for s in statements if isinstance(s, dict)}
        return ("Allow" in effects and "Deny" not in effects), context
    raise InvalidAuthorizerResponse("neither isAuthorized nor policyDocument in the authorizer's response")
