"""HTTP API Lambda REQUEST authorizer, payload format 2.0
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).

The event is the request's payload 2.0 event plus ``type: "REQUEST"``, ``routeArn`` and ``identitySource``
(the identity sources' VALUES, in configured order); it has no ``body`` or ``isBase64Encoded``. Identity
sources: ``$request.header.NAME`` (case-insensitive), ``$request.querystring.NAME`` (case-sensitive),
``$context.VAR``, ``$stageVariables.VAR``; if any is missing, API Gateway answers 401 without calling the
authorizer.

Responses: simple (``{"isAuthorized": bool, "context": {...}}``) or an IAM policy
(``{"principalId", "policyDocument": {"Statement": [{"Action": "execute-api:Invoke", "Effect", "Resource"}]},
"context"}``): API Gateway evaluates the policy against the request's ``routeArn``, and a cached policy
against each later route's. The context reaches the integration as ``requestContext.authorizer.lambda``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Decision:
    """What an authorizer answered. A simple response allows or denies every route; an IAM policy allows the
    routes its ``execute-api:Invoke`` statements name, so a cached policy is evaluated again for each route
    (an explicit ``Deny`` wins, as in IAM)."""

    context: dict[str, Any]
    simple: bool | None = None  # isAuthorized of a simple response; None for a policy
    statements: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (effect, resource patterns) invoking the API

    def allows(self, route_arn: str) -> bool:
        if self.simple is not None:
            return self.simple
        effects = {effect for effect, resources in self.statements if any(_matches(p, route_arn) for p in resources)}
        return "Allow" in effects and "Deny" not in effects


def decision(result: Any) -> Decision:
    """The decision in a simple or IAM policy response."""
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
        return Decision(context, simple=result["isAuthorized"])
    policy = result.get("policyDocument")
    if isinstance(policy, dict):
        return Decision(context, statements=tuple(_statements(policy.get("Statement") or [])))
    raise InvalidAuthorizerResponse("neither isAuthorized nor policyDocument in the authorizer's response")


def _statements(statements: Any) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise InvalidAuthorizerResponse("policyDocument.Statement must be a list")
    out: list[tuple[str, tuple[str, ...]]] = []
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise InvalidAuthorizerResponse("each statement needs an Effect of Allow or Deny")
        actions, resources = _strings(statement.get("Action")), _strings(statement.get("Resource"))
        if not actions or not resources:
            raise InvalidAuthorizerResponse("each statement needs an Action and a Resource")
        if any(_matches(action.lower(), "execute-api:invoke") for action in actions):
            out.append((statement["Effect"], resources))
    return out


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def _matches(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one character; case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None
