"""``stratus client create|list|revoke`` and ``stratus invite create|list``: the idp's machine clients and
registration invites, in its ``accounts`` table (:mod:`stratus.deploy.accounts`).

Secrets and invite codes are printed once, on stdout alone (so ``$(stratus client create ...)`` captures just the
secret), and stored only as SHA-256 hashes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from stratus.cli._app import DEFAULT_ENV, LOCAL, EnvOption, app, console
from stratus.errors import StratusError
from stratus.manifest import load_stack

client_app = typer.Typer(help="Create, list and revoke the idp's machine clients (client credentials, stored hashed).")
invite_app = typer.Typer(help="Create and list the invites that let someone register when IDP_REGISTRATION=invite.")
app.add_typer(client_app, name="client", rich_help_panel=LOCAL)
app.add_typer(invite_app, name="invite", rich_help_panel=LOCAL)

AwsOption = Annotated[
    bool, typer.Option("--aws", help="The accounts table in AWS (this shell's credentials), not the local stack.")
]
ScopeOption = Annotated[list[str] | None, typer.Option("--scope", help="A scope it grants (repeatable).")]


def _target(env: str, aws: bool) -> tuple[Any, str]:
    """A DynamoDB client and the accounts table's name."""
    from stratus.deploy import accounts

    stack = load_stack(env=env)
    table = accounts.table_name(stack)
    return accounts.dynamodb(stack, aws=aws), table


@client_app.command("create")
def create_client(
    name: Annotated[str, typer.Argument(help="The client id, e.g. reporting (3-64 of a-z 0-9 . _ -).")],
    scope: ScopeOption = None,
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Create a client; its secret is printed once and stored nowhere (only its SHA-256 is)."""
    from stratus_common import clients

    dynamodb, table = _target(env, aws)
    try:
        created = clients.create_client(dynamodb, table, name, scopes=scope or ())
    except ValueError as exc:
        hint = "e.g. `stratus client create reporting --scope reports:read`"
        raise StratusError(f"cannot create client {name!r}: {exc}", hint=hint) from exc
    except clients.ClientExists as exc:
        hint = "`stratus client list` shows the clients; choose another name"
        raise StratusError(f"client {name!r} exists already", hint=hint) from exc
    typer.echo(created.secret)
    console.print(f"[green]✓[/] client {created.client.client_id} created; the secret above is shown only now")


@client_app.command("list")
def list_clients(env: EnvOption = DEFAULT_ENV, aws: AwsOption = False) -> None:
    """Every client, active or revoked (never a secret or a hash)."""
    from stratus_common import clients

    dynamodb, table = _target(env, aws)
    typer.echo(json.dumps([found.public() for found in clients.list_clients(dynamodb, table)], indent=2))


@client_app.command("revoke")
def revoke_client(
    name: Annotated[str, typer.Argument(help="The client id (see `stratus client list`).")],
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Revoke a client: its secret gets no token from now on (tokens already issued expire on their own)."""
    from stratus_common import clients

    dynamodb, table = _target(env, aws)
    try:
        revoked = clients.revoke_client(dynamodb, table, name)
    except clients.ClientNotFound as exc:
        raise StratusError(f"no client {name!r}", hint="`stratus client list` shows the client ids") from exc
    console.print(f"[green]✓[/] client {revoked.client_id} revoked")


@invite_app.command("create")
def create_invite(
    scope: ScopeOption = None,
    expires_in_days: Annotated[int, typer.Option(help="Days the invite stays usable (1-365).")] = 7,
    env: EnvOption = DEFAULT_ENV,
    aws: AwsOption = False,
) -> None:
    """Create an invite (scopes on top of IDP_USER_SCOPES); its code is printed once and stored only as a hash."""
    from stratus_common import invites

    if not 1 <= expires_in_days <= 365:
        raise StratusError(f"--expires-in-days must be 1-365 (got {expires_in_days})", hint="e.g. --expires-in-days 7")
    dynamodb, table = _target(env, aws)
    try:
        created = invites.create_invite(dynamodb, table, scopes=scope or (), expires_in=expires_in_days * 86400)
    except ValueError as exc:
        raise StratusError(f"cannot create the invite: {exc}", hint="e.g. --scope records:write") from exc
    typer.echo(created.code)
    console.print(f"[green]✓[/] invite {created.invite.invite_id} created, usable once within {expires_in_days} "
                  "days; the code above is shown only now")  # fmt: skip


@invite_app.command("list")
def list_invites(env: EnvOption = DEFAULT_ENV, aws: AwsOption = False) -> None:
    """Every invite, active, used or expired (never a code or a hash)."""
    from stratus_common import invites

    dynamodb, table = _target(env, aws)
    typer.echo(json.dumps([invite.public() for invite in invites.list_invites(dynamodb, table)], indent=2))
