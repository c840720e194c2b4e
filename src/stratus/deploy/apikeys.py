"""Where the API keys of ``auth = "api_key"`` routes live, locally and in AWS (``stratus apikey``).

The keys are stored hashed in the authorizer service's ``api_keys`` table; their format (creating, listing,
revoking, verifying) is :mod:`stratus_common.apikeys`, the code the authorizer itself runs, so the command and
the authorizer cannot disagree. Locally the table is in the running stack's AWS; with ``aws``, in the account
this shell's credentials reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stratus.errors import StratusError
from stratus.manifest import Stack

TABLE = "api_keys"  # the table the authorizer's service uses for keys (api_keys or api-keys)


def table_name(stack: Stack) -> str:
    """The AWS name of the API keys table of the stack's authorizer."""
    authorizer = stack.authorizer
    if authorizer is None:
        raise StratusError(
            "no authorizer is configured, so no route takes API keys",
            hint="add a `gateway` Lambda service, or [api] authorizer = { service = ..., handler = ... }",
        )
    for binding in stack.plan.services[authorizer.service].bindings:
        if binding.kind == "table" and binding.name.replace("-", "_") == TABLE:
            return stack.plan.tables[binding.name].aws_name
    raise StratusError(
        f"service {authorizer.service!r} uses no {TABLE} table",
        hint=f"declare [tables.{TABLE}] and add it to services.{authorizer.service}.uses",
    )


def dynamodb(stack: Stack, *, aws: bool, root: Path | None = None) -> Any:
    """A DynamoDB client: the account of this shell's credentials (``aws``), else the running local stack's."""
    import boto3

    if aws:
        return boto3.session.Session(region_name=stack.project.region).client("dynamodb")
    from stratus.local import client

    return client.client(client.require_running(root or stack.root, stack.env), "dynamodb")
