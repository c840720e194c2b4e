"""Each service's IAM role in the local cloud: the policy ``stratus infra`` gives it, resolved to what the local
AWS holds, and what to tell a developer when a call is refused.

The statements are the plan's grants (``stack.plan.services[name].grants``, the same the Terraform renders as the
role's ``policy_statements``), their resources resolved as the service's environment is
(:func:`stratus.local.environ.resolve`). What the Terraform modules add beyond them (writing to CloudWatch Logs
and X-Ray, a Lambda service's asynchronous dead-letter queue) is what AWS's own plumbing uses, which the local
cloud does not call through AWS.

Each Lambda function runs with a session of its service's role named after the function (as Lambda names it),
a container with one named after the service; both are assumed-role credentials of the local STS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus.local.environ import Endpoints, resolve
from stratus.manifest.grants import ACTIONS, accesses_granting
from stratus.manifest.refs import Ref

if TYPE_CHECKING:
    from stratus.local.aws import Provisioned
    from stratus.manifest import Stack

LAMBDA_TRUST = "lambda.amazonaws.com"
CONTAINER_TRUST = {"apprunner": "tasks.apprunner.amazonaws.com", "ecs-express": "ecs-tasks.amazonaws.com"}
# The attributes of each kind of resource that grants name (``stratus.manifest.grants``).
_ATTRIBUTES = {"queue": ("arn", "dlq_arn"), "table": ("arn", "index_arns"), "bucket": ("arn", "objects_arn"),
               "database": ("secret_arn",), "secret": ("arn",), "model": ("arn",)}  # fmt: skip


@dataclass(frozen=True)
class Role:
    service: str
    name: str
    trust: str  # the service principal that assumes it in AWS
    policy: dict[str, object] | None  # None: the service uses nothing, so its role has no policy of its own
    sessions: tuple[str, ...]  # who runs with it: each function's name, or the container service's name

    @property
    def policy_name(self) -> str:
        return f"{self.name}-policy"

    @property
    def trust_policy(self) -> str:
        statement = {"Effect": "Allow", "Principal": {"Service": self.trust}, "Action": "sts:AssumeRole"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def roles(stack: Stack, provisioned: Provisioned) -> list[Role]:
    """The role of every service of ``stack``, its policy resolved against ``provisioned``."""
    endpoints = Endpoints(aws="", invoke="", api="", provisioned=provisioned)
    out = []
    for name, service in stack.plan.services.items():
        statements = [
            {"Sid": grant.sid, "Effect": "Allow", "Action": list(grant.actions),
             "Resource": [resolve(ref, stack, endpoints) for ref in grant.resources]}
            for grant in service.grants
        ]  # fmt: skip
        policy: dict[str, object] | None = {"Version": "2012-10-17", "Statement": statements} if statements else None
        if service.container is None:
            trust, sessions = LAMBDA_TRUST, tuple(f.name for f in service.functions)
        else:
            trust, sessions = CONTAINER_TRUST[service.kind], (service.aws_name,)
        out.append(Role(name, service.role_name, trust, policy, sessions))
    return out


def hint(stack: Stack, provisioned: Provisioned, service: str, action: str, resource: str) -> str:
    """One line for ``service``'s log: which ``uses`` entry would let it call ``action`` on ``resource``."""
    endpoints = Endpoints(aws="", invoke="", api="", provisioned=provisioned)
    found = None
    for kind, names in _resources(stack).items():
        for name in names:
            for attr in _ATTRIBUTES[kind]:
                arn = resolve(Ref(kind, name, attr), stack, endpoints)  # type: ignore[arg-type]
                if resource == arn or (arn.endswith("/*") and resource.startswith(arn[:-1])):
                    found = (kind, name, attr)
    if found is None:
        return (f"IAM denied {action} on {resource}: it is not a resource of stratus.toml, so no `uses` entry "
                f"grants it (declare it, or call what the service declares)")  # fmt: skip
    kind, name, attr = found
    accesses = accesses_granting(kind, attr, action)
    if not accesses:
        return (f"IAM denied {action} on {kind} {name!r}: no `uses` access grants it (Stratus grants what a "
                f"service needs at run time; {kind} accesses: {', '.join(_levels(kind))})")  # fmt: skip
    current = stack.services[service].uses.get(name)
    entry = f'{name} = "{accesses[0]}"'
    if current is not None:
        better = next((a for a in accesses if current in a.split("-") or a.startswith(current)), accesses[-1])
        entry = f'{name} = "{better}"'
        return (f'IAM denied {action} on {kind} {name!r}: services.{service}.uses has {name} = "{current}"; '
                f"{entry} grants it (stratus.toml)")  # fmt: skip
    return f"IAM denied {action} on {kind} {name!r}: add {entry} to services.{service}.uses (stratus.toml)"


def _resources(stack: Stack) -> dict[str, list[str]]:
    plan = stack.plan
    return {"queue": list(plan.queues), "table": list(plan.tables), "bucket": list(plan.buckets),
            "database": list(plan.databases), "secret": list(plan.secrets), "model": list(stack.models)}  # fmt: skip


def _levels(kind: str) -> list[str]:
    return [access for (k, access) in ACTIONS if k == kind]
