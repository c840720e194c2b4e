"""IAM's policy evaluation, for one account: what AWS decides for a request, given the principal's policies.

The order is AWS's (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit ``Deny`` in any policy wins; otherwise the request needs an ``Allow`` in an identity-based policy and,
when the credentials carry a session policy, an ``Allow`` in that too (the effective permissions are the
intersection); anything else is an implicit deny.

- ``Action``/``NotAction`` match case-insensitively, ``Resource``/``NotResource`` case-sensitively, both with the
  wildcards ``*`` (any run of characters, ``/`` and ``:`` included) and ``?`` (one character). A statement with
  ``NotAction`` applies to every action but those listed; with ``NotResource`` to every resource but those listed
  (so an ``Allow`` with ``NotResource`` allows all else, and a ``Deny`` with it denies all else).
- ``Condition``: every operator of a statement must hold, every key of an operator must hold, and a key holds when
  any of the policy's values matches (OR). The operators are IAM's string, numeric, date, boolean, IP address,
  ARN and ``Null`` operators, each with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes.
  A key the request does not have fails a positive operator and satisfies a negated one (``StringNotEquals``,
  ``ArnNotLike``, ...), as AWS evaluates them; ``...IfExists`` is satisfied by a missing key.
- A policy that is not a valid document (no ``Statement``, an ``Effect`` other than ``Allow``/``Deny``, both
  ``Action`` and ``NotAction``, an unknown operator) raises :class:`MalformedPolicy`, as IAM refuses it.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Effect = Literal["Allow", "Deny"]
Context = Mapping[str, str | Sequence[str]]


class MalformedPolicy(ValueError):
    """A policy document IAM would refuse (``MalformedPolicyDocument``)."""


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Effect
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str] | str, ...]  # a str holds policy variables, filled in per request
    not_resource: bool
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)
    sid: str

    def applies(self, action: str, resource: str, context: Context) -> bool:
        if any(p.fullmatch(action) for p in self.actions) == self.not_action:
            return False
        if any(_resource(p, context).fullmatch(resource) for p in self.resources) == self.not_resource:
            return False
        return all(_condition(op, key, _fill_all(values, context), context) for op, key, values in self.conditions)


# --- policy variables (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html) ------

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_NO_MATCH = re.compile(r"(?!)")


def _fill(text: str, context: Context) -> str | None:
    """``text`` with its ``${key}`` variables replaced from ``context``; ``None`` if one has no value (AWS: the
    statement's element then matches nothing). ``${*}``, ``${?}`` and ``${$}`` are the literal characters."""

    def value(match: re.Match[str]) -> str:
        key = match[1]
        if key in ("*", "?", "$"):
            return {"*": "\0star", "?": "\0qm", "$": "$"}[key]
        key, _, default = key.partition(", ")
        found = context.get(key.lower())
        if found is None and default:
            found = default.strip("'")
        if not isinstance(found, str):
            raise LookupError(key)
        return found

    try:
        return _VARIABLE.sub(value, text)
    except LookupError:
        return None


def _resource(pattern: re.Pattern[str] | str, context: Context) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    filled = _fill(pattern, context)
    return _NO_MATCH if filled is None else _pattern(filled, ignore_case=False)


def _fill_all(values: tuple[str, ...], context: Context) -> tuple[str, ...]:
    if not any("${" in v for v in values):
        return values
    return tuple(f for f in (_fill(v, context) for v in values) if f is not None)


@dataclass(frozen=True, slots=True)
class Policy:
    statements: tuple[Statement, ...]
    name: str = ""

    @property
    def contextual(self) -> bool:
        """Whether a decision can depend on the request's context (conditions, policy variables)."""
        return any(s.conditions or any(isinstance(r, str) for r in s.resources) for s in self.statements)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Literal["allowed", "explicit-deny", "session-deny", "no-allow", "session-policy"]
    statement: str = ""  # the Sid (or policy name) that decided, when one did


def evaluate(
    policies: Iterable[Policy],
    action: str,
    resource: str,
    context: Context,
    *,
    session_policy: Policy | None = None,
) -> Decision:
    """AWS's decision for ``action`` on ``resource`` by a principal holding ``policies``."""
    allowed_by = None
    for policy in policies:
        for statement in policy.statements:
            if statement.applies(action, resource, context):
                if statement.effect == "Deny":
                    return Decision(False, "explicit-deny", statement.sid or policy.name)
                allowed_by = allowed_by or statement.sid or policy.name or "Allow"
    if session_policy is not None:
        session_allows = False
        for statement in session_policy.statements:
            if statement.applies(action, resource, context):
                if statement.effect == "Deny":
                    return Decision(False, "session-deny", statement.sid or "session policy")
                session_allows = True
        if allowed_by is not None and not session_allows:
            return Decision(False, "session-policy")
    if allowed_by is None:
        return Decision(False, "no-allow")
    return Decision(True, "allowed", allowed_by)


@functools.lru_cache(maxsize=1024)
def parse(document: str, name: str = "") -> Policy:
    """A policy document (JSON text) as a :class:`Policy`; cached, since a role's documents rarely change."""
    try:
        data = json.loads(document)
    except ValueError as exc:
        raise MalformedPolicy(f"{name or 'policy'}: not JSON ({exc})") from None
    return from_data(data, name)


def from_data(data: Any, name: str = "") -> Policy:
    where = name or "policy"
    if not isinstance(data, dict) or "Statement" not in data:
        raise MalformedPolicy(f"{where}: a policy is an object with a Statement")
    raw = data["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    version = str(data.get("Version", ""))  # policy variables exist only in 2012-10-17
    statements = (_statement(item, f"{where} statement {i + 1}", version) for i, item in enumerate(items))
    return Policy(tuple(statements), name)


def _statement(item: Any, where: str, version: str) -> Statement:
    if not isinstance(item, dict):
        raise MalformedPolicy(f"{where}: a statement is an object")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(f"{where}: Effect must be Allow or Deny, not {effect!r}")
    if ("Action" in item) == ("NotAction" in item):
        raise MalformedPolicy(f"{where}: exactly one of Action and NotAction")
    if ("Resource" in item) == ("NotResource" in item):
        raise MalformedPolicy(f"{where}: exactly one of Resource and NotResource")
    actions = _strings(item.get("Action", item.get("NotAction")), where)
    resources = _strings(item.get("Resource", item.get("NotResource")), where)
    for action in actions:
        if action != "*" and ":" not in action:
            raise MalformedPolicy(f"{where}: action {action!r} must be service:Action")
    conditions: list[tuple[str, str, tuple[str, ...]]] = []
    raw_conditions = item.get("Condition", {})
    if not isinstance(raw_conditions, dict):
        raise MalformedPolicy(f"{where}: Condition is an object")
    for operator, block in raw_conditions.items():
        if _base_operator(operator) not in _OPERATORS:
            raise MalformedPolicy(f"{where}: unknown condition operator {operator!r}")
        if not isinstance(block, dict):
            raise MalformedPolicy(f"{where}: {operator} holds an object of keys")
        for key, values in block.items():
            conditions.append((operator, key.lower(), _strings(values, where, scalar=True)))
    return Statement(
        effect=effect,
        actions=tuple(_pattern(a, ignore_case=True) for a in actions),
        not_action="NotAction" in item,
        resources=tuple(_resource_pattern(r, version) for r in resources),
        not_resource="NotResource" in item,
        conditions=tuple(conditions),
        sid=str(item.get("Sid", "")),
    )


def _resource_pattern(resource: str, version: str) -> re.Pattern[str] | str:
    """A resource's pattern, or the resource itself while it holds policy variables (filled per request)."""
    if "${" in resource and version == "2012-10-17":
        return resource
    return _pattern(resource, ignore_case=False)


def _strings(value: Any, where: str, *, scalar: bool = False) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) and scalar:
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)) and scalar:
            out.append(str(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise MalformedPolicy(f"{where}: {item!r} is not a string")
    if not out:
        raise MalformedPolicy(f"{where}: an empty list")
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, *, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch's translation, with [ and ] taken literally (IAM has only * and ?).
    escaped = glob.replace("[", "\0o").replace("]", "\0c")
    regex = fnmatch.translate(escaped).replace("\0o", r"\[").replace("\0c", r"\]")
    regex = regex.replace("\0star", r"\*").replace("\0qm", r"\?")  # ${*} and ${?}: the characters themselves
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# --- conditions ------------------------------------------------------------------------------------------------


def _base_operator(operator: str) -> str:
    base = operator.split(":", 1)[1] if operator.startswith(("ForAnyValue:", "ForAllValues:")) else operator
    return base.removesuffix("IfExists") if base != "Null" else base


def _condition(operator: str, key: str, values: tuple[str, ...], context: Context) -> bool:
    present = context.get(key)
    base = _base_operator(operator)
    if base == "Null":
        return (present is None) == (values[0].lower() == "true")
    negated = _OPERATORS[base][1]
    if present is None:
        if operator.startswith("ForAllValues:") or operator.endswith("IfExists"):
            return True
        return negated and not operator.startswith("ForAnyValue:")
    match, _ = _OPERATORS[base]
    request = [present] if isinstance(present, str) else list(present)
    if operator.startswith("ForAllValues:"):
        return all(_matches(match, negated, r, values) for r in request)
    return any(_matches(match, negated, r, values) for r in request)


def _matches(match: Any, negated: bool, request: str, values: tuple[str, ...]) -> bool:
    try:
        hit = any(match(request, value) for value in values)
    except ValueError:  # a number, date or address that does not parse matches nothing
        hit = False
    return not hit if negated else hit


def _like(request: str, value: str) -> bool:
    return _pattern(value, ignore_case=False).fullmatch(request) is not None


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> float:
    if re.fullmatch(r"\d+", text):
        return float(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _arn_like(request: str, value: str) -> bool:
    # ARN operators compare the six colon-separated parts one by one; wildcards stay within a part.
    got, want = request.split(":", 5), value.split(":", 5)
    return len(got) == len(want) == 6 and all(_like(g, w) for g, w in zip(got, want, strict=True))


def _ip(request: str, value: str) -> bool:
    return ipaddress.ip_address(request) in ipaddress.ip_network(value, strict=False)


_OPERATORS: dict[str, tuple[Any, bool]] = {
    "StringEquals": (lambda r, v: r == v, False),
    "StringNotEquals": (lambda r, v: r == v, True),
    "StringEqualsIgnoreCase": (lambda r, v: r.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda r, v: r.lower() == v.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "NumericEquals": (lambda r, v: _number(r) == _number(v), False),
    "NumericNotEquals": (lambda r, v: _number(r) == _number(v), True),
    "NumericLessThan": (lambda r, v: _number(r) < _number(v), False),
    "NumericLessThanEquals": (lambda r, v: _number(r) <= _number(v), False),
    "NumericGreaterThan": (lambda r, v: _number(r) > _number(v), False),
    "NumericGreaterThanEquals": (lambda r, v: _number(r) >= _number(v), False),
    "DateEquals": (lambda r, v: _date(r) == _date(v), False),
    "DateNotEquals": (lambda r, v: _date(r) == _date(v), True),
    "DateLessThan": (lambda r, v: _date(r) < _date(v), False),
    "DateLessThanEquals": (lambda r, v: _date(r) <= _date(v), False),
    "DateGreaterThan": (lambda r, v: _date(r) > _date(v), False),
    "DateGreaterThanEquals": (lambda r, v: _date(r) >= _date(v), False),
    "Bool": (lambda r, v: r.lower() == v.lower(), False),
    "BinaryEquals": (lambda r, v: r == v, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Null": (None, False),
}
