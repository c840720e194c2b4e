"""``stratus apikey create|list|revoke``: API keys of ``auth = "api_key"`` routes (:mod:`stratus.deploy.apikeys`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from stratus.cli._app import DEFAULT_ENV, LOCAL, EnvOption, app, console
from stratus.errors import StratusError
from stratus.manifest import load_stack

apikey_app = typer.Typer(help="Create, list and revoke the API keys of api_key routes (stored hashed).")
app.add_typer(apikey_app, name="apikey", rich_help_panel=LOCAL)

AwsOption = Annotated[
    bool, typer.Option("--aws", help="The keys in AWS (this shell's credentials), not the local stack.")
]


def _target(env: str, aws: bool) -> tuple[Any, str]:
    """A DynamoDB client and the keys table's name."""
    from stratus.deploy import apikeys

    stack = load_stack(env=env)
    table = apikeys.table_name(stack)
    return apikeys.dynamodb(stack, aws=aws), table


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. partner-acme.")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope the key grants (repeatable).")] = None,
    expires_in_days: Annotated[int | None, typer.Option(help="Make the key stop working after N days.")] = None,
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Create a key; its secret is printed once and stored nowhere (only its SHA-256 is)."""
    from stratus_common import apikeys

    dynamodb, table = _target(env, aws)
    expires = expires_in_days * 86400 if expires_in_days else None
    created = apikeys.create_api_key(dynamodb, table, name=name, scopes=scope or (), expires_in=expires)
    typer.echo(created.plaintext)
    console.print(f"[green]✓[/] key {created.key.key_id} created; the secret above is shown only now")


@apikey_app.command("list")
def list_keys(env: EnvOption = DEFAULT_ENV, aws: AwsOption = False) -> None:
    """Every key, active, expired or revoked (never a secret or a hash)."""
    from stratus_common import apikeys

    dynamodb, table = _target(env, aws)
    typer.echo(json.dumps([key.public() for key in apikeys.list_api_keys(dynamodb, table)], indent=2))


@apikey_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see `stratus apikey list`).")],
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from stratus_common import apikeys

    dynamodb, table = _target(env, aws)
    try:
        key = apikeys.revoke_api_key(dynamodb, table, key_id)
    except LookupError as exc:
        raise StratusError(f"no API key {key_id!r}", hint="`stratus apikey list` shows the key ids") from exc
    console.print(f"[green]✓[/] key {key.key_id} ({key.name}) revoked")
