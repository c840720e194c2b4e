"""Where the idp's machine clients and registration invites live, locally and in AWS (``stratus client``,
``stratus invite``).

They are items of the ``accounts`` table of the service that uses one (the idp); their formats (creating, listing,
revoking, redeeming) are :mod:`stratus_common.clients` and :mod:`stratus_common.invites`, the code the idp itself
runs, so the command and the idp cannot disagree. Locally the table is in the running stack's AWS; with ``aws``, in
the account this shell's credentials reach (the client is :func:`stratus.deploy.apikeys.dynamodb`'s).
"""

from __future__ import annotations

from stratus.deploy.apikeys import dynamodb
from stratus.errors import StratusError
from stratus.manifest import Stack

__all__ = ["TABLE", "dynamodb", "table_name"]

TABLE = "accounts"  # the table the idp keeps users, clients and invites in (accounts)


def table_name(stack: Stack) -> str:
    """The AWS name of the ``accounts`` table some service of the stack uses."""
    found = [
        stack.plan.tables[binding.name].aws_name
        for _, service in sorted(stack.plan.services.items())
        for binding in service.bindings
        if binding.kind == "table" and binding.name.replace("-", "_") == TABLE
    ]
    if not found:
        raise StratusError(
            f"no service uses an {TABLE} table, so there is no identity provider to hold clients and invites",
            hint=f'declare [tables.{TABLE}] and list it in the idp\'s uses (uses = {{ {TABLE} = "read-write" }})',
        )
    return found[0]
