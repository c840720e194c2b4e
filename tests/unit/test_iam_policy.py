"""IAM policy evaluation (:mod:`stratus.local.iam.policy`) against AWS's documented rules.

Sources:
- evaluation order, explicit deny, session policies:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session ("the intersection");
- Action case-insensitivity: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  ("The prefix and the action name are case insensitive");
- Resource case-sensitivity and wildcards (``*`` across ``/``):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html;
- NotAction / NotResource: reference_policies_elements_notaction.html and _notresource.html;
- condition operators, missing keys, ``...IfExists``, ``Null``:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html;
- set operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html;
- policy variables: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html.
The facts, with captures, are gathered in /tmp/iam-research.md (sections 0 and 8).

The context passed to :func:`policy.evaluate` has lower-case keys (as the enforcer builds it); a policy's keys are
matched case-insensitively.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stratus.local.iam import policy
from stratus.local.iam.policy import MalformedPolicy, evaluate

BUCKET = "arn:aws:s3:::bucket"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/T"


def doc(*statements: dict[str, Any], name: str = "") -> policy.Policy:
    """A policy parsed from its JSON text, as IAM holds it."""
    return policy.parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), name)


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# --- evaluation order -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deny_first", [True, False], ids=["deny-first", "allow-first"])
def test_explicit_deny_in_one_policy_beats_allow_in_another(deny_first: bool) -> None:
    allowing = doc(allow("s3:*", "*", Sid="AllowAll"), name="allow")
    denying = doc(deny("s3:GetObject", f"{BUCKET}/*", Sid="NoReads"), name="deny")
    policies = [denying, allowing] if deny_first else [allowing, denying]
    decision = evaluate(policies, "s3:GetObject", f"{BUCKET}/k", {})
    assert decision == policy.Decision(False, "explicit-deny", "NoReads")
    assert evaluate(policies, "s3:PutObject", f"{BUCKET}/k", {}).allowed


def test_deny_statement_without_sid_is_named_by_its_policy() -> None:
    decision = evaluate([doc(allow()), doc(deny("s3:*"), name="guard")], "s3:GetObject", BUCKET, {})
    assert decision == policy.Decision(False, "explicit-deny", "guard")


def test_no_matching_statement_is_an_implicit_deny() -> None:
    policies = [doc(allow("s3:GetObject", f"{BUCKET}/*"))]
    assert evaluate(policies, "s3:PutObject", f"{BUCKET}/k", {}) == policy.Decision(False, "no-allow")
    assert evaluate(policies, "s3:GetObject", "arn:aws:s3:::other/k", {}) == policy.Decision(False, "no-allow")
    assert evaluate([], "s3:GetObject", f"{BUCKET}/k", {}) == policy.Decision(False, "no-allow")


def test_allow_names_the_statement_that_allowed() -> None:
    assert evaluate([doc(allow(Sid="Reads"))], "s3:GetObject", BUCKET, {}) == policy.Decision(True, "allowed", "Reads")
    assert evaluate([doc(allow(), name="inline")], "s3:GetObject", BUCKET, {}).statement == "inline"


# --- Action ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),  # the doc: iam:ListAccessKeys is the same as IAM:listaccesskeys
        ("s3:GetObject", "S3:GETOBJECT", True),
        ("sqs:SendMessage", "sqs:sendmessage", True),
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "s3:GetObjectVersion", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:*Object", "s3:DeleteObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?Object", "s3:GetObject", False),  # ? is exactly one character
        ("s3:GetObjec?", "s3:GetObjectVersion", False),
        ("*", "dynamodb:GetItem", True),
        ("s3:*", "s3:ListAllMyBuckets", True),
        ("s3:*", "s3x:GetObject", False),
        ("s3:GetObject", "s3:GetObjectVersion", False),  # the whole action, not a prefix
    ],
)
def test_action_matching(pattern: str, action: str, allowed: bool) -> None:
    assert evaluate([doc(allow(pattern))], action, "*", {}).allowed is allowed


def test_action_list_allows_any_listed() -> None:
    policies = [doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage"]))]
    assert evaluate(policies, "sqs:ReceiveMessage", "*", {}).allowed
    assert not evaluate(policies, "sqs:DeleteMessage", "*", {}).allowed


# --- Resource ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        (f"{BUCKET}/*", f"{BUCKET}/a/b/c.txt", True),
        ("arn:aws:s3:::Bucket/*", f"{BUCKET}/k", False),  # resources are case-sensitive
        (f"{BUCKET}/Key", f"{BUCKET}/key", False),
        (f"{TABLE}/*", f"{TABLE}/index/I", True),  # * spans /: table/T/* covers table/T/index/I
        ("arn:aws:dynamodb:us-east-1:123456789012:table/*", f"{TABLE}/index/I", True),
        (TABLE, f"{TABLE}/index/I", False),  # the table's ARN alone does not cover its indexes
        ("arn:aws:dynamodb:*:123456789012:table/T", TABLE, True),
        ("arn:aws:lambda:us-east-1:123456789012:function:f*", "arn:aws:lambda:us-east-1:123456789012:function:f:live",
         True),  # a trailing * expands beyond the colon boundaries
        (f"{BUCKET}/file-?.txt", f"{BUCKET}/file-1.txt", True),
        (f"{BUCKET}/file-?.txt", f"{BUCKET}/file-12.txt", False),
        (f"{BUCKET}/[x]*", f"{BUCKET}/[x]1", True),  # IAM has no [] class: brackets are literal
        (f"{BUCKET}/[x]*", f"{BUCKET}/x1", False),
        (f"{BUCKET}/a.b", f"{BUCKET}/aXb", False),  # a dot is a dot
        ("*", TABLE, True),
    ],
)  # fmt: skip
def test_resource_matching(pattern: str, resource: str, allowed: bool) -> None:
    assert evaluate([doc(allow("*", pattern))], "s3:GetObject", resource, {}).allowed is allowed


# --- NotAction / NotResource -------------------------------------------------------------------------------------


def test_allow_with_not_action_allows_everything_else() -> None:
    policies = [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert evaluate(policies, "s3:GetObject", BUCKET, {}).allowed
    assert evaluate(policies, "IAM:CreateUser", "*", {}) == policy.Decision(False, "no-allow")


def test_deny_with_not_action_denies_everything_else_but_grants_nothing() -> None:
    guard = {"Effect": "Deny", "NotAction": ["s3:*"], "Resource": "*", "Sid": "OnlyS3"}
    assert evaluate([doc(guard, allow())], "dynamodb:GetItem", TABLE, {}) == policy.Decision(
        False, "explicit-deny", "OnlyS3"
    )
    assert evaluate([doc(guard, allow())], "s3:GetObject", BUCKET, {}).allowed
    assert evaluate([doc(guard)], "s3:GetObject", BUCKET, {}) == policy.Decision(False, "no-allow")


def test_allow_with_not_resource_allows_all_other_resources() -> None:
    hr = {"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::hr", "arn:aws:s3:::hr/*"]}
    assert evaluate([doc(hr)], "s3:GetObject", f"{BUCKET}/k", {}).allowed
    assert evaluate([doc(hr)], "s3:GetObject", "arn:aws:s3:::hr/salaries.csv", {}) == policy.Decision(False, "no-allow")
    assert evaluate([doc(hr)], "s3:ListAllMyBuckets", "*", {}).allowed


def test_deny_with_not_resource_denies_all_other_resources() -> None:
    fence = {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"], "Sid": "Fence"}
    policies = [doc(fence, allow())]
    assert evaluate(policies, "s3:GetObject", "arn:aws:s3:::other/k", {}) == policy.Decision(
        False, "explicit-deny", "Fence"
    )
    assert evaluate(policies, "s3:GetObject", f"{BUCKET}/k", {}).allowed
    assert evaluate(policies, "dynamodb:GetItem", TABLE, {}).allowed  # the Deny is only for s3:*
    assert not evaluate([doc(fence)], "s3:GetObject", f"{BUCKET}/k", {}).allowed  # and grants nothing


# --- session policies --------------------------------------------------------------------------------------------


def test_session_policy_that_does_not_allow_limits_the_role() -> None:
    role = [doc(allow("s3:*"))]
    session = doc(allow("s3:GetObject"))
    assert evaluate(role, "s3:GetObject", BUCKET, {}, session_policy=session).allowed
    assert evaluate(role, "s3:PutObject", BUCKET, {}, session_policy=session) == policy.Decision(
        False, "session-policy"
    )


def test_session_policy_cannot_grant_what_the_role_does_not() -> None:
    decision = evaluate([doc(allow("s3:GetObject"))], "s3:PutObject", BUCKET, {}, session_policy=doc(allow()))
    assert decision == policy.Decision(False, "no-allow")


def test_session_policy_deny_wins_over_the_role_allow() -> None:
    session = doc(allow(), deny("s3:DeleteObject", Sid="NoDeletes"))
    decision = evaluate([doc(allow())], "s3:DeleteObject", BUCKET, {}, session_policy=session)
    assert decision == policy.Decision(False, "session-deny", "NoDeletes")
    assert evaluate([doc(allow())], "s3:GetObject", BUCKET, {}, session_policy=session).allowed


def test_identity_deny_wins_even_when_the_session_policy_allows() -> None:
    decision = evaluate([doc(allow(), deny("s3:*", Sid="X"))], "s3:GetObject", BUCKET, {}, session_policy=doc(allow()))
    assert decision == policy.Decision(False, "explicit-deny", "X")


# --- conditions --------------------------------------------------------------------------------------------------


def holds(operator: str, key: str, values: Any, context: dict[str, Any]) -> bool:
    """Whether an Allow whose only condition is ``{operator: {key: values}}`` allows, in ``context``."""
    statement = allow(Condition={operator: {key: values}})
    return evaluate([doc(statement)], "s3:GetObject", BUCKET, context).allowed


CONDITIONS = [
    # (operator, key, policy values, request value, holds)
    ("StringEquals", "aws:username", "alice", "alice", True),
    ("StringEquals", "aws:username", "alice", "Alice", False),  # case-sensitive
    ("StringNotEquals", "aws:username", "alice", "bob", True),
    ("StringNotEquals", "aws:username", "alice", "alice", False),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", "alice", True),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", "bob", False),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", "alice", False),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", "bob", True),
    ("StringLike", "s3:prefix", "home/*", "home/alice/docs", True),
    ("StringLike", "s3:prefix", "home/?", "home/a", True),
    ("StringLike", "s3:prefix", "home/?", "home/ab", False),
    ("StringLike", "s3:prefix", "Home/*", "home/alice", False),  # case-sensitive
    ("StringNotLike", "s3:prefix", "home/*", "public/x", True),
    ("StringNotLike", "s3:prefix", "home/*", "home/x", False),
    ("NumericEquals", "s3:max-keys", "10", "10.0", True),
    ("NumericEquals", "s3:max-keys", "10", "11", False),
    ("NumericNotEquals", "s3:max-keys", "10", "11", True),
    ("NumericNotEquals", "s3:max-keys", "10", "10", False),
    ("NumericLessThan", "s3:max-keys", "10", "9", True),
    ("NumericLessThan", "s3:max-keys", "10", "10", False),
    ("NumericLessThanEquals", "s3:max-keys", "10", "10", True),
    ("NumericLessThanEquals", "s3:max-keys", "10", "11", False),
    ("NumericGreaterThan", "s3:max-keys", "10", "11", True),
    ("NumericGreaterThan", "s3:max-keys", "10", "10", False),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "10", True),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "9", False),
    ("NumericLessThan", "s3:max-keys", "10", "-5", True),
    ("DateEquals", "aws:currenttime", "2024-01-01T00:00:00Z", "1704067200", True),  # ISO vs epoch, same instant
    ("DateEquals", "aws:epochtime", "1704067200", "2024-01-01T00:00:00Z", True),
    ("DateEquals", "aws:currenttime", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", False),
    ("DateNotEquals", "aws:currenttime", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", True),
    ("DateLessThan", "aws:currenttime", "2024-06-01T00:00:00Z", "2024-05-31T23:59:59Z", True),
    ("DateLessThan", "aws:currenttime", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", False),
    ("DateLessThanEquals", "aws:currenttime", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", True),
    ("DateGreaterThan", "aws:epochtime", "1704067200", "1704067201", True),
    ("DateGreaterThan", "aws:currenttime", "2024-01-01T00:00:00Z", "2023-12-31T23:00:00Z", False),
    ("DateGreaterThanEquals", "aws:currenttime", "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", True),
    ("Bool", "aws:securetransport", "true", "true", True),
    ("Bool", "aws:securetransport", "true", "false", False),
    ("Bool", "aws:securetransport", "True", "true", True),
    ("BinaryEquals", "s3:x-amz-binary", "QmluYXJ5", "QmluYXJ5", True),
    ("BinaryEquals", "s3:x-amz-binary", "QmluYXJ5", "QmluYXJ6", False),
    ("IpAddress", "aws:sourceip", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "aws:sourceip", "10.0.0.0/8", "11.0.0.1", False),
    ("IpAddress", "aws:sourceip", "203.0.113.5", "203.0.113.5", True),  # a single address, no prefix length
    ("IpAddress", "aws:sourceip", "203.0.113.0/24", "203.0.114.1", False),
    ("IpAddress", "aws:sourceip", "2001:db8::/32", "2001:db8:1::1", True),
    ("NotIpAddress", "aws:sourceip", "10.0.0.0/8", "192.168.0.1", True),
    ("NotIpAddress", "aws:sourceip", "10.0.0.0/8", "10.9.9.9", False),
    ("ArnLike", "aws:sourcearn", "arn:aws:sqs:*:123456789012:jobs-*", "arn:aws:sqs:us-east-1:123456789012:jobs-a",
     True),
    ("ArnLike", "aws:sourcearn", "arn:aws:sqs:*:123456789012:jobs-*", "arn:aws:sns:us-east-1:123456789012:jobs-a",
     False),
    # each of the six colon-separated parts is matched separately: * does not reach across a colon
    ("ArnLike", "aws:sourcearn", "arn:aws:sqs:*:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs", False),
    ("ArnLike", "aws:sourcearn", "arn:aws:sqs:us-east-?:*:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs", True),
    ("ArnLike", "aws:sourcearn", "arn:aws:sqs:*:*:Jobs", "arn:aws:sqs:us-east-1:123456789012:jobs", False),
    ("ArnEquals", "aws:sourcearn", "arn:aws:sqs:us-east-1:123456789012:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs",
     True),
    ("ArnEquals", "aws:sourcearn", "arn:aws:sqs:*:123456789012:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs",
     True),  # the doc: ArnEquals and ArnLike both take wildcards per part
    ("ArnNotLike", "aws:sourcearn", "arn:aws:sqs:*:123456789012:jobs", "arn:aws:sqs:us-east-1:999999999999:jobs",
     True),
    ("ArnNotLike", "aws:sourcearn", "arn:aws:sqs:*:123456789012:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs",
     False),
    ("ArnNotEquals", "aws:sourcearn", "arn:aws:sqs:us-east-1:123456789012:a", "arn:aws:sqs:us-east-1:123456789012:b",
     True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operator", "key", "values", "request_value", "expected"),
    CONDITIONS,
    ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CONDITIONS],
)
def test_condition_operator(operator: str, key: str, values: str, request_value: str, expected: bool) -> None:
    assert holds(operator, key, values, {key: request_value}) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEqualsIfExists", False),
        ("StringNotEqualsIfExists", True),
        ("ForAllValues:StringEquals", False),
        ("ForAnyValue:StringEquals", False),
    ],
)
def test_if_exists_and_set_operators_evaluate_a_present_key(operator: str, expected: bool) -> None:
    assert holds(operator, "aws:username", "alice", {"aws:username": "bob"}) is expected


def test_several_values_of_one_key_are_ored() -> None:
    assert holds("StringEquals", "aws:username", ["alice", "bob"], {"aws:username": "bob"})
    assert not holds("StringEquals", "aws:username", ["alice", "bob"], {"aws:username": "carol"})
    assert holds("IpAddress", "aws:sourceip", ["10.0.0.0/8", "192.168.0.0/16"], {"aws:sourceip": "192.168.1.1"})


def test_negated_operator_with_several_values_needs_all_to_differ() -> None:
    # StringNotEquals [a, b] is "neither a nor b"
    assert holds("StringNotEquals", "aws:username", ["alice", "bob"], {"aws:username": "carol"})
    assert not holds("StringNotEquals", "aws:username", ["alice", "bob"], {"aws:username": "bob"})


def test_several_keys_and_several_operators_are_anded() -> None:
    statement = allow(
        Condition={
            "StringEquals": {"aws:username": "alice", "aws:requestedregion": "us-east-1"},
            "Bool": {"aws:securetransport": "true"},
        }
    )
    context = {"aws:username": "alice", "aws:requestedregion": "us-east-1", "aws:securetransport": "true"}
    assert evaluate([doc(statement)], "s3:GetObject", BUCKET, context).allowed
    for key, other in (("aws:requestedregion", "eu-west-1"), ("aws:username", "bob"), ("aws:securetransport", "false")):
        assert not evaluate([doc(statement)], "s3:GetObject", BUCKET, {**context, key: other}).allowed


def test_condition_keys_match_case_insensitively() -> None:
    assert holds("StringEquals", "AWS:UserName", "alice", {"aws:username": "alice"})


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),  # a positive operator: no value, no match
        ("StringLike", False),
        ("NumericLessThan", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        ("StringNotEquals", True),  # negated: "the right key is not present, the condition is true"
        ("StringNotLike", True),
        ("StringNotEqualsIgnoreCase", True),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("NotIpAddress", True),
        ("ArnNotLike", True),
        ("ArnNotEquals", True),
        ("StringEqualsIfExists", True),  # IfExists: "If the key is not present, evaluate the condition ... as true"
        ("ArnLikeIfExists", True),
        ("BoolIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ForAllValues:StringEquals", True),  # an empty set is a subset of anything
        ("ForAllValues:StringNotLike", True),
        ("ForAnyValue:StringEquals", False),  # and has no member that matches
        ("ForAnyValue:StringNotEquals", False),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    value = {
        "Numeric": "1", "Date": "2024-01-01T00:00:00Z", "Bool": "true", "IpAddr": "10.0.0.0/8",
        "NotIpAddress": "10.0.0.0/8", "Arn": "arn:aws:sqs:*:*:q",
    }  # fmt: skip
    base = operator.split(":")[-1]
    values = next((v for prefix, v in value.items() if base.startswith(prefix)), "x")
    assert holds(operator, "aws:somekey", values, {"aws:otherkey": "x"}) is expected


def test_null_operator() -> None:
    assert holds("Null", "aws:tokenissuetime", "true", {})  # true: the key must be absent
    assert not holds("Null", "aws:tokenissuetime", "true", {"aws:tokenissuetime": "2024-01-01T00:00:00Z"})
    assert holds("Null", "aws:tokenissuetime", "false", {"aws:tokenissuetime": "2024-01-01T00:00:00Z"})
    assert not holds("Null", "aws:tokenissuetime", "false", {})
    assert holds("Null", "aws:tokenissuetime", True, {})  # JSON true


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value"),
    [
        ("NumericEquals", "10", "ten"),
        ("NumericEquals", "ten", "10"),
        ("NumericLessThan", "10", ""),
        ("NumericGreaterThanEquals", "abc", "5"),
        ("DateLessThan", "2030-01-01T00:00:00Z", "yesterday"),
        ("DateEquals", "soon", "2030-01-01T00:00:00Z"),
        ("IpAddress", "10.0.0.0/8", "not-an-ip"),
        ("IpAddress", "10.0.0.0/33", "10.0.0.1"),
    ],
)
def test_a_value_that_does_not_parse_matches_nothing(operator: str, policy_value: str, request_value: str) -> None:
    assert not holds(operator, "aws:somekey", policy_value, {"aws:somekey": request_value})


def test_set_operators_on_multivalued_keys() -> None:
    key = "aws:tagkeys"
    assert holds("ForAllValues:StringEquals", key, ["env", "team", "cost"], {key: ["env", "team"]})
    assert not holds("ForAllValues:StringEquals", key, ["env", "team"], {key: ["env", "secret"]})
    assert holds("ForAllValues:StringEquals", key, ["env"], {key: []})  # an empty set
    assert holds("ForAnyValue:StringEquals", key, ["secret"], {key: ["env", "secret"]})
    assert not holds("ForAnyValue:StringEquals", key, ["secret"], {key: ["env", "team"]})
    assert not holds("ForAnyValue:StringEquals", key, ["secret"], {key: []})
    assert holds("ForAnyValue:StringLike", key, ["sec*"], {key: ["env", "secret"]})
    assert holds("ForAllValues:StringNotEquals", key, ["secret"], {key: ["env", "team"]})
    assert not holds("ForAllValues:StringNotEquals", key, ["secret"], {key: ["env", "secret"]})


def test_condition_values_given_as_json_booleans_and_numbers() -> None:
    statement = allow(Condition={"Bool": {"aws:SecureTransport": True}, "NumericLessThanEquals": {"s3:max-keys": 10}})
    policies = [policy.parse(json.dumps({"Statement": statement}))]
    assert evaluate(policies, "s3:ListBucket", BUCKET, {"aws:securetransport": "true", "s3:max-keys": "10"}).allowed
    assert not evaluate(
        policies, "s3:ListBucket", BUCKET, {"aws:securetransport": "false", "s3:max-keys": "10"}
    ).allowed
    assert not evaluate(policies, "s3:ListBucket", BUCKET, {"aws:securetransport": "true", "s3:max-keys": "11"}).allowed
    assert holds("NumericEquals", "s3:max-keys", 2.5, {"s3:max-keys": "2.5"})
    assert holds("Bool", "aws:securetransport", [False], {"aws:securetransport": "false"})


def test_deny_with_a_condition_only_denies_when_it_holds() -> None:
    # The usual "deny plain HTTP" guard (https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule).
    guard = deny("s3:*", Sid="TLS", Condition={"Bool": {"aws:SecureTransport": "false"}})
    policies = [doc(allow(), guard)]
    assert evaluate(policies, "s3:GetObject", BUCKET, {"aws:securetransport": "true"}).allowed
    assert evaluate(policies, "s3:GetObject", BUCKET, {"aws:securetransport": "false"}).reason == "explicit-deny"
    assert evaluate(policies, "s3:GetObject", BUCKET, {}).allowed  # Bool on a missing key: false, no deny


def test_policy_variables_are_substituted_in_resources() -> None:
    policies = [doc(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"))]
    assert evaluate(policies, "s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", {"aws:username": "alice"}).allowed


# --- documents ---------------------------------------------------------------------------------------------------


def test_statement_may_be_a_single_object() -> None:
    parsed = policy.parse(json.dumps({"Statement": {"Sid": "One", **allow("s3:GetObject", f"{BUCKET}/*")}}), "p")
    assert parsed.name == "p"
    assert len(parsed.statements) == 1
    assert parsed.statements[0].sid == "One"
    assert evaluate([parsed], "s3:GetObject", f"{BUCKET}/k", {}).allowed


def test_from_data_takes_an_already_decoded_document() -> None:
    parsed = policy.from_data({"Statement": [allow("dynamodb:GetItem", TABLE)]})
    assert evaluate([parsed], "dynamodb:GetItem", TABLE, {}).allowed


MALFORMED = {
    "not-json": "{not json",
    "a-list": json.dumps([allow()]),
    "no-statement": json.dumps({"Version": "2012-10-17"}),
    "statement-not-object": json.dumps({"Statement": ["Allow"]}),
    "bad-effect": json.dumps({"Statement": {"Effect": "Permit", "Action": "*", "Resource": "*"}}),
    "no-effect": json.dumps({"Statement": {"Action": "*", "Resource": "*"}}),
    "action-and-not-action": json.dumps({"Statement": {**allow(), "NotAction": "s3:*"}}),
    "neither-action": json.dumps({"Statement": {"Effect": "Allow", "Resource": "*"}}),
    "resource-and-not-resource": json.dumps({"Statement": {**allow(), "NotResource": "*"}}),
    "neither-resource": json.dumps({"Statement": {"Effect": "Allow", "Action": "*"}}),
    "action-without-colon": json.dumps({"Statement": allow("s3GetObject")}),
    "action-not-a-string": json.dumps({"Statement": allow(42)}),
    "empty-action-list": json.dumps({"Statement": allow([])}),
    "unknown-operator": json.dumps({"Statement": allow(Condition={"StringEqualz": {"aws:username": "a"}})}),
    "unknown-operator-in-set": json.dumps({"Statement": allow(Condition={"ForAnyValue:Sorta": {"k": "a"}})}),
    "condition-not-object": json.dumps({"Statement": allow(Condition=["StringEquals"])}),
    "operator-block-not-object": json.dumps({"Statement": allow(Condition={"StringEquals": "a"})}),
    "condition-value-null": json.dumps({"Statement": allow(Condition={"StringEquals": {"k": None}})}),
}


@pytest.mark.parametrize("document", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_policy(document: str) -> None:
    with pytest.raises(MalformedPolicy):
        policy.parse(document, "broken")


def test_malformed_policy_message_names_the_policy() -> None:
    with pytest.raises(MalformedPolicy, match=r"^my-policy"):
        policy.parse("[]", "my-policy")
    assert issubclass(MalformedPolicy, ValueError)
