"""Commands that ship and watch the stack: ``deploy``, ``migrate``, ``test``, ``logs``."""

from __future__ import annotations

import datetime as dt
import subprocess
from typing import Annotated

import typer

from stratus.cli._app import AWS, DEFAULT_ENV, LOCAL, PROJECT, EnvOption, app, console
from stratus.errors import StratusError
from stratus.manifest import load_stack


@app.command(rich_help_panel=AWS)
def deploy(
    env: EnvOption = DEFAULT_ENV,
    service: Annotated[list[str] | None, typer.Option(help="Deploy only this service (repeatable).")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Stop after terraform plan.")] = False,
    tag: Annotated[str | None, typer.Option(help="An extra image tag, <service>-<env>-<tag>.")] = None,
) -> None:
    """Preflight, build, push, terraform init/plan/apply, wait for App Runner, smoke-test /health."""
    from stratus.deploy.pipeline import Deployer, DeployOptions

    stack = load_stack(env=env)
    deployer = Deployer(
        stack,
        DeployOptions(env=env, services=tuple(service or ()), plan_only=plan, tag=tag),
        progress=lambda msg: console.print(f"[bold]→[/] {msg}"),
    )
    report = deployer.deploy()
    if report.applied:
        console.print(f"[green]✓ deployed[/] {env}: {report.endpoint}")
    else:
        console.print(f"[green]✓ planned[/] {env} (nothing applied: --plan)")


@app.command(rich_help_panel=AWS)
def migrate(
    env: EnvOption = DEFAULT_ENV,
    service: Annotated[list[str] | None, typer.Option(help="Only this service's migrations (repeatable).")] = None,
) -> None:
    """Run the deployed services' database migrations (their `migrations` functions), as `deploy` does."""
    import boto3

    from stratus.deploy.migrate import migration_functions, run_migrations
    from stratus.deploy.preflight import check_credentials

    stack = load_stack(env=env)
    if not migration_functions(stack, service):
        raise StratusError("no service declares migrations", hint='add migrations = "<pkg>.migrate.handler"')
    session = boto3.session.Session(region_name=stack.project.region)
    _, missing = check_credentials(session.client("sts"))
    if missing is not None:
        raise StratusError(missing.what, hint=missing.how)
    done = run_migrations(stack, session.client("lambda"), services=service,
                          progress=lambda msg: console.print(f"[bold]→[/] {msg}"))  # fmt: skip
    for source, answer in done.items():
        console.print(f"[green]✓[/] {source}: {answer}")


# -------------------------------------------------------------------------------------------------- test


@app.command("test", rich_help_panel=PROJECT)
def test_command(
    service: Annotated[str | None, typer.Option(help="Only this service's tests.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="unit or integration.")] = None,
    coverage: Annotated[bool, typer.Option(help="Measure coverage (pytest-cov).")] = False,
    html: Annotated[bool, typer.Option(help="Write an HTML coverage report to htmlcov/.")] = False,
    parallel: Annotated[int | None, typer.Option(help="Run on N processes (pytest-xdist).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    against: Annotated[
        str | None, typer.Option(help="Run the integration tests against the deployed stack at this URL.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="With --against: an API key of that stack.")] = None,
    token: Annotated[str | None, typer.Option(help="With --against: a signed-in user's access token.")] = None,
    client: Annotated[
        str | None, typer.Option(help="With --against: a machine client's ID:SECRET, for tokens with scopes.")
    ] = None,
    invite: Annotated[str | None, typer.Option(help="With --against: a registration invitation.")] = None,
    smoke: Annotated[bool, typer.Option(help="Only the tests marked smoke (what `stratus deploy` runs).")] = False,
    env: EnvOption = DEFAULT_ENV,
) -> None:
    """Run the services' tests with pytest; --against URL: their integration tests against a deployed stack."""
    import os
    import sys

    from stratus.cli.delegate import hand_over

    hand_over(sys.argv[1:])  # in the project's own environment, when it pins its own toolkit

    from stratus.deploy.testrun import Against, TestType, pytest_argv
    from stratus.testing.remote import check_stack

    if type_ not in (None, "unit", "integration"):
        raise StratusError(f"--type {type_!r}: use unit or integration")
    stack = load_stack(env=env)
    kind: TestType | None = "unit" if type_ == "unit" else "integration" if type_ == "integration" else None
    target = None
    if against is not None:
        check_stack(against)  # one line, before pytest starts, when the URL is no Stratus stack
        target = Against(against, api_key=api_key, token=token, client=client, invite=invite, smoke=smoke)
    elif any((api_key, token, client, invite)):
        raise StratusError("--api-key, --token, --client and --invite go with --against URL")
    argv = pytest_argv(
        stack, service=service, kind=kind, coverage=coverage, html=html, parallel=parallel, verbose=verbose,
        against=target, extra=["-m", "smoke"] if smoke and target is None else None,
    )  # fmt: skip
    console.print(f"[dim]{' '.join(argv[1:])}[/]")
    environ = target.environ() if target is not None else dict(os.environ)
    raise typer.Exit(subprocess.run(argv, cwd=stack.root, env=environ, check=False).returncode)


# -------------------------------------------------------------------------------------------------- logs


@app.command(rich_help_panel=LOCAL)
def logs(
    service: Annotated[str, typer.Argument(help="The service.")],
    env: EnvOption = DEFAULT_ENV,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    aws: Annotated[bool, typer.Option("--aws", help="The deployed service's CloudWatch logs.")] = False,
    since: Annotated[str, typer.Option(help="With --aws: how far back, e.g. 10m, 2h, 1d.")] = "10m",
) -> None:
    """Print a service's logs: from the running `stratus dev`, or (--aws) from CloudWatch."""
    from stratus.deploy import logs as service_logs

    stack = load_stack(env=env)
    try:
        if aws:
            import boto3

            client = boto3.session.Session(region_name=stack.project.region).client("logs")
            group = service_logs.log_group(stack, service, client)
            start = dt.datetime.now(dt.UTC) - service_logs.parse_since(since)
            console.print(f"[dim]{group}[/]")
            lines = service_logs.CloudWatchTail(client, group, start=start).lines(follow=follow)
        else:
            lines = service_logs.local_lines(stack, service, follow=follow)
        for line in lines:
            typer.echo(line)
    except KeyboardInterrupt:
        pass
