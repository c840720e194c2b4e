"""Each service's role in the local cloud (`stratus.local.roles`): its policy is the plan's grants resolved to the
local resources, and a refused call is answered, in the caller's log, with the `uses` entry that would grant it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stratus.local.aws import Provisioned
from stratus.local.roles import hint, roles
from stratus.manifest import Stack, parse_stack
from stratus.manifest.grants import accesses_granting

MANIFEST = """
[project]
name = "shop"

[services.orders]
kind = "lambda"
path = "/orders"
uses = { orders = "read", jobs = "send", uploads = "write" }

[services.web]
kind = "apprunner"
path = "/web"

[queues.jobs]
[tables.orders]
hash_key = "id"
indexes = [{ name = "by-user", hash_key = "user" }]

[tables.audit]
hash_key = "id"

[buckets.uploads]
"""


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return parse_stack(tomllib.loads(MANIFEST), root=tmp_path)


def provisioned(stack: Stack) -> Provisioned:
    return Provisioned.aws_shaped(stack.plan, "123456789012")


def test_a_roles_policy_is_the_plans_grants_on_the_local_arns(stack: Stack) -> None:
    by_service = {role.service: role for role in roles(stack, provisioned(stack))}
    orders = by_service["orders"]
    assert orders.name == "shop-dev-orders-role"
    assert orders.trust == "lambda.amazonaws.com"
    assert orders.sessions == ("shop-dev-orders",)
    assert orders.policy is not None
    statements = {s["Sid"]: s for s in orders.policy["Statement"]}  # type: ignore[union-attr]
    plan = stack.plan.services["orders"]
    assert list(statements) == [grant.sid for grant in plan.grants]
    assert statements["TableOrders"]["Resource"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-orders"]
    assert statements["TableOrdersIndexes"]["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-orders/index/*"
    ]
    assert statements["QueueJobs"] == {
        "Sid": "QueueJobs",
        "Effect": "Allow",
        "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
        "Resource": ["arn:aws:sqs:us-east-1:123456789012:shop-dev-jobs"],
    }
    # A service that uses nothing has a role without a policy of its own; a container's session is its service's.
    assert by_service["web"].policy is None
    assert by_service["web"].trust == "tasks.apprunner.amazonaws.com"
    assert by_service["web"].sessions == ("shop-dev-web",)


def test_the_access_that_grants_an_action_is_the_weakest_first() -> None:
    assert accesses_granting("table", "arn", "dynamodb:PutItem") == ["write", "read-write"]
    assert accesses_granting("table", "index_arns", "dynamodb:Query") == ["read", "read-write"]
    assert accesses_granting("queue", "arn", "sqs:ReceiveMessage") == ["receive", "send-receive"]
    assert accesses_granting("bucket", "objects_arn", "s3:GetObject") == ["read", "read-write"]
    assert accesses_granting("table", "arn", "dynamodb:DeleteTable") == []


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        # a resource it does not use: add it, with the weakest access that grants the call
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-audit",
         "IAM denied dynamodb:PutItem on table 'audit': add audit = \"write\" to services.orders.uses (stratus.toml)"),
        # a resource it uses with too little access: the access that adds what is missing
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-orders",
         'IAM denied dynamodb:PutItem on table \'orders\': services.orders.uses has orders = "read"; '
         'orders = "read-write" grants it (stratus.toml)'),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:shop-dev-jobs",
         'IAM denied sqs:ReceiveMessage on queue \'jobs\': services.orders.uses has jobs = "send"; '
         'jobs = "send-receive" grants it (stratus.toml)'),
        ("s3:GetObject", "arn:aws:s3:::shop-dev-uploads/a/b.png",
         'IAM denied s3:GetObject on bucket \'uploads\': services.orders.uses has uploads = "write"; '
         'uploads = "read-write" grants it (stratus.toml)'),
        # something no access grants, and something that is not the stack's
        ("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-orders",
         "IAM denied dynamodb:DeleteTable on table 'orders': no `uses` access grants it (Stratus grants what a "
         "service needs at run time; table accesses: read, write, read-write)"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/elsewhere",
         "IAM denied dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table/elsewhere: it is not a "
         "resource of stratus.toml, so no `uses` entry grants it (declare it, or call what the service declares)"),
    ],
)  # fmt: skip
def test_a_refusal_names_the_uses_entry_that_would_grant_it(
    stack: Stack, action: str, resource: str, expected: str
) -> None:
    assert hint(stack, provisioned(stack), "orders", action, resource) == expected


def test_the_sqs_event_source_polls_with_the_consuming_functions_credentials(tmp_path: Path) -> None:
    # As the event source mapping does in AWS: a consumer without sqs:ReceiveMessage fails locally too.
    import io

    from stratus.local.environ import Endpoints
    from stratus.local.logs import LogSink
    from stratus.local.units import UnitFactory

    raw = tomllib.loads(MANIFEST)
    raw["services"]["orders"]["consumes"] = [{"queue": "jobs", "handler": "orders.jobs.handler"}]
    stack = parse_stack(raw, root=tmp_path)
    asked: list[str] = []
    factory = UnitFactory(
        stack=stack, endpoints=Endpoints(aws="", invoke="", api="", provisioned=provisioned(stack)),
        identity=None, sink=LogSink(io.StringIO()), http=None,  # type: ignore[arg-type]
        sqs_client=lambda session: asked.append(session), max_environments=1,
    )  # fmt: skip
    unit = factory.build("orders")
    (source,) = unit.sources.values()
    source.client_factory()
    assert asked == [source.function.config.name] == ["shop-dev-orders-jobs-consumer"]
