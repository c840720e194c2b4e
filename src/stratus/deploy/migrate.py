"""Database migrations in AWS: invoke each service's ``migrations`` function, once per deploy.

A service that declares ``migrations = "records.migrate.handler"`` gets a function of its own (``<svc>-migrate``:
the service's code, role and VPC, a longer timeout). Migrations run there, inside the VPC that can reach the
database, never on a cold start of the HTTP function: ``stratus deploy`` invokes every one after ``terraform
apply`` and before the smoke test, and ``stratus migrate --env E`` does it by hand. The local cloud invokes the
same function when ``stratus dev`` starts. A failure stops the deploy with the function's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stratus.errors import StratusError

if TYPE_CHECKING:
    from stratus.manifest import Stack

__all__ = ["migration_functions", "run_migrations"]


def migration_functions(stack: Stack, services: list[str] | None = None) -> list[tuple[str, str]]:
    """(source, AWS function name) of every migrations function of ``services`` (default: all)."""
    return [
        (fn.source, fn.name)
        for name, service in stack.plan.services.items()
        if services is None or name in services
        for fn in service.functions
        if fn.kind == "migrate"
    ]


def run_migrations(
    stack: Stack,
    lambda_client: Any,
    *,
    services: list[str] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Invoke each migrations function synchronously; return what each answered. Raises on the first failure."""
    out: dict[str, Any] = {}
    for source, function_name in migration_functions(stack, services):
        progress(f"migrate: {source} ({function_name})")
        response = lambda_client.invoke(FunctionName=function_name, InvocationType="RequestResponse", Payload=b"{}")
        body = response["Payload"].read().decode(errors="replace")
        if response.get("FunctionError"):
            try:
                error = json.loads(body)
                message = f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
            except (ValueError, AttributeError):
                message = body[:500]
            raise StratusError(
                f"the migrations of {source} failed: {message}",
                hint=f"stratus logs {source.split('/')[0]} --aws; fix, then `stratus migrate --env {stack.env}`",
            )
        try:
            out[source] = json.loads(body)
        except ValueError:
            out[source] = body
    return out
