"""``stratus apikey create|list|revoke``: the API keys of ``auth = "api_key"`` routes.

The keys live, hashed, in the authorizer service's ``api_keys`` table; the functions that write and read
them belong to that service (``<authorizer package>.apikeys``: create_api_key, list_api_keys,
revoke_api_key, each taking a DynamoDB client and the table's name), so the CLI and the authorizer can never
disagree on the format. Locally the keys go to the running stack's AWS; with ``--aws``, to the account the
AWS credentials of this shell reach, in the environment's table (``<project>-<env>-api_keys``).
"""

from __future__ import annotations

import importlib
import json
from typing import Annotated, Any

import typer

from stratus import naming
from stratus.cli._app import DEFAULT_ENV, EnvOption, app, console
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import Stack, find_root, load_stack

apikey_app = typer.Typer(help="Create, list and revoke the API keys of api_key routes (stored hashed).")
app.add_typer(apikey_app, name="apikey")

AwsOption = Annotated[
    bool, typer.Option("--aws", help="The keys in AWS (this shell's credentials), not the local stack.")
]


def _target(env: str, aws: bool) -> tuple[Any, Any, str]:
    """(the service's apikeys module, a DynamoDB client, the table name)."""
    stack = load_stack(env=env)
    authorizer = stack.authorizer
    if authorizer is None:
        raise StratusError(
            "no authorizer is configured, so no route takes API keys",
            hint="add a `gateway` Lambda service, or [api] authorizer = { service = ..., handler = ... }",
        )
    table = _api_keys_table(stack, authorizer.service)
    try:
        module = importlib.import_module(f"{naming.package_name(authorizer.service)}.apikeys")
    except ImportError as exc:
        raise StratusError(
            f"the authorizer service {authorizer.service!r} has no apikeys module ({exc})",
            hint="it provides create_api_key, list_api_keys and revoke_api_key, as services/gateway/gateway does",
        ) from exc
    return module, _dynamodb(stack, aws), stack.resource_name(table)


def _api_keys_table(stack: Stack, service: str) -> str:
    for binding in stack.bindings(service):
        if binding.kind == "table" and binding.name.replace("-", "_") == "api_keys":
            return binding.name
    raise StratusError(
        f"service {service!r} uses no api_keys table", hint="declare [tables.api_keys] and add it to its uses"
    )


def _dynamodb(stack: Stack, aws: bool) -> Any:
    import boto3

    if aws:
        return boto3.client("dynamodb", region_name=stack.project.region)
    from stratus.local.client import running_stack

    running = running_stack(find_root())
    if running is None or running.env != stack.env:
        raise PrerequisiteError(
            f"no local stack runs for environment {stack.env!r}",
            hint="start it with `uv run stratus dev`, or pass --aws for the keys in AWS",
        )
    return boto3.client("dynamodb", endpoint_url=running.aws, region_name=stack.project.region,
                        aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106  # fmt: skip


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. partner-acme.")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope the key grants (repeatable).")] = None,
    expires_in_days: Annotated[int | None, typer.Option(help="Make the key stop working after N days.")] = None,
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Create a key; its secret is printed once and stored nowhere (only its SHA-256 is)."""
    module, dynamodb, table = _target(env, aws)
    expires = expires_in_days * 86400 if expires_in_days else None
    created = module.create_api_key(dynamodb, table, name=name, scopes=scope or (), expires_in=expires)
    typer.echo(created.plaintext)
    console.print(f"[green]✓[/] key {created.key.key_id} created; the secret above is shown only now")


@apikey_app.command("list")
def list_keys(env: EnvOption = DEFAULT_ENV, aws: AwsOption = False) -> None:
    """Every key, active, expired or revoked (never a secret or a hash)."""
    module, dynamodb, table = _target(env, aws)
    typer.echo(json.dumps([key.public() for key in module.list_api_keys(dynamodb, table)], indent=2))


@apikey_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see `stratus apikey list`).")],
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    module, dynamodb, table = _target(env, aws)
    try:
        key = module.revoke_api_key(dynamodb, table, key_id)
    except LookupError as exc:
        raise StratusError(f"no API key {key_id!r}", hint="`stratus apikey list` shows the key ids") from exc
    console.print(f"[green]✓[/] key {key.key_id} ({key.name}) revoked")
