"""``stratus new`` (a service), ``stratus add`` (a resource) and ``stratus init`` (a project): thin, over
:mod:`stratus.scaffold`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._app import PROJECT, app, console
from stratus.manifest import find_root

new_app = typer.Typer(
    help="Create a service: its code, tests, Dockerfile, manifest entry and Terraform.", no_args_is_help=True
)
add_app = typer.Typer(
    help="Declare a queue, table, bucket, database, secret or model and grant it to a service.", no_args_is_help=True
)
app.add_typer(new_app, name="new", rich_help_panel=PROJECT)
app.add_typer(add_app, name="add", rich_help_panel=PROJECT)

NameArg = Annotated[str, typer.Argument(help="Lowercase letters, digits and hyphens, saying what it does.")]
PathOption = Annotated[str | None, typer.Option("--path", help="The route path (default: /NAME).")]
SyncOption = Annotated[
    bool, typer.Option("--sync/--no-sync", help="Run `uv sync` afterwards to install the new service (slower).")
]
AuthOption = Annotated[str, typer.Option("--auth", help="none | api_key | token (checked by the gateway authorizer).")]
ToOption = Annotated[str | None, typer.Option("--to", help="The service that uses it.")]
AccessOption = Annotated[
    str | None,
    typer.Option("--access", help="queue: send|receive|send-receive; table, bucket: read|write|read-write; "
                 "database: read|read-write; secret: read; model: invoke (default: send for a queue, read for a "
                 "secret, invoke for a model, read-write otherwise)."),
]  # fmt: skip


def _new(kind: str, name: str, path: str | None, auth: str, sync: bool) -> None:
    from stratus.scaffold.service import new_service
    from stratus.scaffold.service import sync as uv_sync

    root = find_root()
    done = new_service(root, kind, name, path=path, auth=auth)  # type: ignore[arg-type]
    for rel in done.created:
        console.print(f"  [green]created[/] {rel}")
    for rel in done.updated:
        console.print(f"  [green]updated[/] {rel}")
    if done.infra:
        console.print(f"  [green]updated[/] infra/terraform ({len(done.infra_written)} files written)")
    console.print(
        f"[green]✓[/] service [bold]{done.name}[/] ({done.kind}) on {done.path} in {done.seconds:.2f} s"
        + ("" if done.infra else "; no infra/terraform here (run `stratus infra` to write it)")
    )
    if sync:
        console.print("syncing the workspace environment (uv sync)…")
        seconds = uv_sync(root)
        console.print(f"[green]✓[/] uv sync in {seconds:.1f} s")
    else:
        console.print("[yellow]![/] not synced: run `uv sync` to install the service into the environment")
    console.print(
        f"next: `uv run pytest services/{done.name}`; `stratus dev` routes {done.path} (a running one already does)"
    )


@new_app.command("lambda")
def new_lambda(name: NameArg, path: PathOption = None, auth: AuthOption = "none", sync: SyncOption = True) -> None:
    """A FastAPI service on AWS Lambda (Mangum), routed at --path."""
    _new("lambda", name, path, auth, sync)


@new_app.command("apprunner")
def new_apprunner(name: NameArg, path: PathOption = None, auth: AuthOption = "none", sync: SyncOption = True) -> None:
    """A FastAPI container on AWS App Runner (uvicorn on PORT), routed at --path."""
    _new("apprunner", name, path, auth, sync)


@new_app.command("ecs-express")
def new_ecs_express(name: NameArg, path: PathOption = None, auth: AuthOption = "none", sync: SyncOption = True) -> None:
    """A FastAPI container on Amazon ECS Express Mode (uvicorn on PORT), routed at --path."""
    _new("ecs-express", name, path, auth, sync)


def _add(kind: str, name: str, to: str | None, access: str | None, keys: dict[str, str] | None = None) -> None:
    from stratus.scaffold.resource import add_resource

    done = add_resource(find_root(), kind, name, to=to, access=access, keys=keys)  # type: ignore[arg-type]
    fields = ", ".join(f"{k} = {v!r}" for k, v in done.fields.items())
    console.print(f"  [green]declared[/] {done.kind} [bold]{done.name}[/] ({fields}) in stratus.toml")
    if done.service:
        console.print(
            f"  [green]granted[/] {done.access} to {done.service}: {', '.join(done.variables)}; "
            f"in the code, stratus_common.settings.{done.lookup}"
        )
    if done.infra:
        console.print(f"  [green]updated[/] infra/terraform ({len(done.infra_written)} files written)")
    console.print(f"[green]✓[/] {done.kind} {done.name} in {done.seconds:.2f} s; a running `stratus dev` provisions it")


@add_app.command("queue")
def add_queue(name: NameArg, to: ToOption = None, access: AccessOption = None) -> None:
    """An SQS queue (with its dead-letter queue)."""
    _add("queue", name, to, access)


@add_app.command("table")
def add_table(
    name: NameArg,
    to: ToOption = None,
    access: AccessOption = None,
    hash_key: Annotated[str, typer.Option("--hash-key", help="The partition key attribute (a string).")] = "id",
    range_key: Annotated[
        str | None, typer.Option("--range-key", help="A sort key attribute (a string), if items share a hash key.")
    ] = None,
) -> None:
    """A DynamoDB table (hash key "id", or --hash-key)."""
    keys = {"hash_key": hash_key} | ({"range_key": range_key} if range_key else {})
    _add("table", name, to, access, keys)


@add_app.command("bucket")
def add_bucket(name: NameArg, to: ToOption = None, access: AccessOption = None) -> None:
    """A versioned S3 bucket."""
    _add("bucket", name, to, access)


@add_app.command("database")
def add_database(name: NameArg, to: ToOption = None, access: AccessOption = None) -> None:
    """A PostgreSQL database (RDS in AWS, embedded PostgreSQL locally)."""
    _add("database", name, to, access)


@add_app.command("model")
def add_model(
    name: NameArg,
    to: ToOption = None,
    access: AccessOption = None,
    model_id: Annotated[
        str, typer.Option("--id", help="The Bedrock foundation model id.")
    ] = "anthropic.claude-3-haiku-20240307-v1:0",
) -> None:
    """An Amazon Bedrock model (the service reads <NAME>_MODEL_ID; locally an offline generator answers)."""
    _add("model", name, to, access, {"id": model_id})


@add_app.command("secret")
def add_secret(name: NameArg, to: ToOption = None, access: AccessOption = None) -> None:
    """A Secrets Manager secret of 64 generated characters (the service reads <NAME>_SECRET_ARN)."""
    _add("secret", name, to, access)


@app.command("init", rich_help_panel=PROJECT)
def init(
    directory: Annotated[Path, typer.Argument(help="The new project's directory (absent or empty).")],
    name: Annotated[str | None, typer.Option("--name", help="The project's name (default: the directory's).")] = None,
    service: Annotated[str, typer.Option("--service", help="Its first Lambda service, on /.")] = "api",
    sync: SyncOption = False,
) -> None:
    """Start a new project: stratus.toml, one Lambda service on /, README, .ci/run, tests."""
    from stratus import release
    from stratus.scaffold.project import init_project
    from stratus.scaffold.service import sync as uv_sync

    done = init_project(directory, name=name, service=service)
    console.print(f"[green]✓[/] project [bold]{done.name}[/] in {done.root} ({len(done.created)} files)")
    console.print(f"  it depends on {release.compatible(release.TOOLKIT)} and {release.compatible(release.RUNTIME)}")
    if sync:
        console.print("syncing (uv sync)…")
        console.print(f"[green]✓[/] uv sync in {uv_sync(done.root):.1f} s")
    console.print(f"next: cd {directory} && stratus dev   # and: uv run pytest")
