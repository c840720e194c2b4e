"""``stratus add queue|table|bucket|database|secret NAME [--to SERVICE --access LEVEL]``: declare a resource and
grant it.

The resource is declared with sensible defaults (a table's ``hash_key = "id"``, or ``--hash-key`` /
``--range-key``; a queue's visibility timeout
6x the timeout of the Lambda it is granted to, as AWS recommends for a consumer; a versioned bucket; a
PostgreSQL database, with ``[network] create = true`` when the manifest has no network yet; a secret of 64
generated characters), and ``--to`` adds it to the service's ``uses``: its IAM through ``stratus infra``, its
variable (``ORDERS_TABLE_NAME``…) and its local provisioning through ``stratus dev``. The edited manifest is
parsed and validated for every environment before the file is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stratus import naming, paths
from stratus.manifest import ACCESS_LEVELS, MANIFEST_NAME, RESOURCE_TABLES, LambdaService, Stack
from stratus.scaffold import manifest_edit
from stratus.scaffold._common import current_manifest, render_infra, replace_text, validate_edit, write_infra
from stratus.scaffold.names import ScaffoldError, check_resource_name

__all__ = ["DEFAULT_ACCESS", "RESOURCE_KINDS", "AddedResource", "add_resource", "default_fields"]

TABLE_OF: dict[naming.ResourceKind, str] = {kind: table for table, (kind, _) in RESOURCE_TABLES.items()}
RESOURCE_KINDS: tuple[naming.ResourceKind, ...] = tuple(TABLE_OF)
DEFAULT_ACCESS: dict[naming.ResourceKind, str] = {
    "queue": "send",
    "table": "read-write",
    "bucket": "read-write",
    "database": "read-write",
    "secret": "read",
    "model": "invoke",
}
DEFAULT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
SETTINGS_LOOKUP: dict[naming.ResourceKind, str] = {
    "queue": "queue_url",
    "table": "table_name",
    "bucket": "bucket_name",
    "database": "database_url",
    "secret": "get_secret",
    "model": "model_id",
}


@dataclass
class AddedResource:
    """What :func:`add_resource` did."""

    kind: naming.ResourceKind
    name: str
    fields: dict[str, Any]
    service: str | None = None
    access: str | None = None
    variables: list[str] = field(default_factory=list)
    lookup: str = ""
    infra: bool = False
    infra_written: list[str] = field(default_factory=list)
    seconds: float = 0.0


def default_fields(kind: naming.ResourceKind, stack: Stack, service: str | None) -> dict[str, Any]:
    """The new table's fields, written out so they are there to tune."""
    if kind == "queue":
        svc = stack.services.get(service) if service else None
        timeout = svc.timeout if isinstance(svc, LambdaService) else 30
        return {"visibility_timeout": 6 * timeout, "max_receive_count": 3}
    if kind == "table":
        return {"hash_key": "id"}
    if kind == "bucket":
        return {"versioning": True}
    if kind == "secret":
        return {"generate": 64}
    if kind == "model":
        return {"id": DEFAULT_MODEL}
    return {"engine": "postgres"}


def add_resource(
    root: Path,
    kind: naming.ResourceKind,
    name: str,
    *,
    to: str | None = None,
    access: str | None = None,
    infra: bool = True,
    keys: dict[str, str] | None = None,
) -> AddedResource:
    """Declare ``name`` and grant it to ``to``; see the module docstring. Nothing is written on a bad input."""
    started = time.perf_counter()
    if kind not in TABLE_OF:
        raise ScaffoldError(f"unknown resource kind {kind!r}", hint=f"one of {', '.join(RESOURCE_KINDS)}")
    text, stack = current_manifest(root)
    check_resource_name(kind, name)
    if name in stack.resources:
        other = stack.resources[name]
        raise ScaffoldError(
            f"{other} {name!r} is already declared in {MANIFEST_NAME} ({TABLE_OF[other]}.{name})",
            hint=f"choose another name; to grant it to a service, add {name} to the service's uses in {MANIFEST_NAME}",
        )
    if access is not None and to is None:
        raise ScaffoldError("--access needs --to SERVICE", hint=f"stratus add {kind} {name} --to SERVICE --access …")
    if to is not None and to not in stack.services:
        known = ", ".join(sorted(stack.services)) or "none"
        raise ScaffoldError(f"no service named {to!r} in {MANIFEST_NAME}", hint=f"the services are: {known}")
    level = (access or DEFAULT_ACCESS[kind]) if to is not None else None
    if level is not None and level not in ACCESS_LEVELS[kind]:
        allowed = ", ".join(ACCESS_LEVELS[kind])
        raise ScaffoldError(f"invalid access {level!r} to a {kind}", hint=f"one of {allowed}")

    fields = default_fields(kind, stack, to)
    if keys:
        options_of: dict[str, set[str]] = {"table": {"hash_key", "range_key"}, "model": {"id"}}
        extra = sorted(set(keys) - options_of.get(kind, set()))
        if extra:
            options = ", ".join("--" + key.replace("_", "-") for key in extra)
            raise ScaffoldError(f"{options}: not an option of a {kind}")
        fields.update(keys)
    new_text = manifest_edit.add_resource(text, TABLE_OF[kind], name, fields)
    if kind == "database" and stack.declared_network is None:  # a database lives in a VPC: a private one of its own
        new_text = manifest_edit.ensure_table(new_text, "network", {"create": True})
    if to is not None and level is not None:
        new_text = manifest_edit.grant(new_text, to, name, level)
    stacks = validate_edit(root, new_text)
    terraform = render_infra(root, stacks) if infra else None

    replace_text(root / MANIFEST_NAME, new_text)
    variables = list(naming.binding_variables(kind, name).values()) if to else []
    result = AddedResource(
        kind=kind,
        name=name,
        fields=fields,
        service=to,
        access=level,
        variables=variables,
        lookup=f'{SETTINGS_LOOKUP[kind]}("{name}")',
        infra=terraform is not None,
    )
    result.infra_written = [str(paths.INFRA_DIR / rel) for rel in write_infra(root, terraform)]
    result.seconds = time.perf_counter() - started
    return result
