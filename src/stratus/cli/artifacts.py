"""Commands that build, ship and inspect the artifacts: ``build``, ``image``, ``deploy``, ``test``, ``logs``,
``invoke``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from stratus.cli._app import DEFAULT_ENV, EnvOption, app, console
from stratus.errors import StratusError
from stratus.manifest import LambdaService, load_stack

if TYPE_CHECKING:
    from stratus.build.package import BuildResult
    from stratus.manifest import Service, Stack

image_app = typer.Typer(help="Container images: Dockerfiles, build, push.", no_args_is_help=True)
app.add_typer(image_app, name="image")

ArchOption = Annotated[str | None, typer.Option(help="arm64 or x86_64 [default: the manifest's].")]
RuntimeOption = Annotated[str | None, typer.Option(help="python3.11 … python3.14 [default: the manifest's].")]


# ------------------------------------------------------------------------------------------------- build


@app.command()
def build(
    services: Annotated[list[str] | None, typer.Argument(help="Lambda services to build [default: all].")] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Build every Lambda service.")] = False,
    arch: ArchOption = None,
    runtime: RuntimeOption = None,
    env: EnvOption = DEFAULT_ENV,
    bytecode: Annotated[bool, typer.Option(help="Ship .pyc for the target Python when it is installed here.")] = True,
    provided: Annotated[
        list[str] | None,
        typer.Option(help="A package the Lambda runtime provides, left out of the zip [default: boto3, botocore]."),
    ] = None,
    bundle_sdk: Annotated[bool, typer.Option(help="Ship boto3/botocore in the zip instead of the runtime's.")] = False,
) -> None:
    """Build one zip per Lambda service, cross-built for its runtime and architecture (no Docker)."""
    from stratus.build.package import Builder, BuildOptions
    from stratus.build.targets import parse_arch
    from stratus.build.workspace import DEFAULT_PROVIDED

    stack = load_stack(env=env)
    names = _lambda_names(stack, [] if all_services else (services or []))
    options = BuildOptions(
        runtime=runtime,
        arch=parse_arch(arch) if arch else None,
        provided=() if bundle_sdk else tuple(provided or DEFAULT_PROVIDED),
        bytecode=bytecode,
    )
    builder = Builder(stack, options, progress=lambda msg: console.print(f"[dim]{msg}[/]"))
    results = builder.build_many(names)
    _print_builds(results)
    for result in results:
        typer.echo(str(result.path))


def _lambda_names(stack: Stack, wanted: list[str]) -> list[str]:
    lambdas = [name for name, _ in stack.lambdas()]
    if not wanted:
        if not lambdas:
            raise StratusError("the manifest has no Lambda service to build")
        return lambdas
    for name in wanted:
        if name not in stack.services:
            raise StratusError(f"no service named {name!r} in {stack.manifest_path.name}",
                               hint=f"Lambda services: {', '.join(lambdas) or 'none'}")  # fmt: skip
    return wanted


def _print_builds(results: list[BuildResult]) -> None:
    from stratus.build.archive import human

    table = Table(title="Lambda zips", title_justify="left")
    for column in ("service", "target", "zip", "unzipped", "files", ".pyc", "time"):
        table.add_column(column, justify="left" if column in ("service", "target") else "right")
    for r in results:
        when = "cached" if r.cached else f"{r.seconds:.1f} s"
        table.add_row(r.service, str(r.target), human(r.report.zipped), human(r.report.unzipped),
                      str(r.report.files), str(r.report.pyc_files), when)  # fmt: skip
    console.print(table)
    for r in results:
        top = ", ".join(f"{name} {human(z)}" for name, z, _ in r.report.top[:6])
        console.print(f"[bold]{r.service}[/]: largest: {top}")
        bytecode = f"{r.bytecode} ({r.bytecode_note})" if r.bytecode else r.bytecode_note
        console.print(f"  bytecode: {bytecode}")
        if r.left_out:
            console.print(f"  left out (the Lambda runtime provides them): {', '.join(r.left_out)}")
        if r.layer is not None and r.layer.dropped_files:
            dropped = f"{r.layer.dropped_files} files ({human(r.layer.dropped_bytes)})"
            console.print(f"  dropped from dependencies: {dropped}: tests, caches, stubs, C sources, installer records")
        for warning in r.warnings:
            console.print(f"  [yellow]warning[/] {warning}")


# ------------------------------------------------------------------------------------------------- image


@image_app.command("dockerfile")
def image_dockerfile(
    service: Annotated[str, typer.Argument(help="The service.")],
    env: EnvOption = DEFAULT_ENV,
    write: Annotated[bool, typer.Option(help="Write it to the service's directory instead of printing it.")] = False,
) -> None:
    """Print the Dockerfile of a service (Dockerfile.lambda or Dockerfile.apprunner)."""
    from stratus.build.dockerfiles import render

    stack = load_stack(env=env)
    _service(stack, service)
    dockerfile = render(stack, service)
    if write:
        path = stack.service_dir(service) / dockerfile.name
        path.write_text(dockerfile.text)
        console.print(f"[green]✓[/] wrote {path.relative_to(stack.root)}")
    else:
        typer.echo(dockerfile.text, nl=False)


@image_app.command("build")
def image_build(
    service: Annotated[str, typer.Argument(help="The service.")],
    env: EnvOption = DEFAULT_ENV,
    tag: Annotated[str | None, typer.Option(help="An extra tag, <service>-<env>-<tag> (e.g. v1.0.0).")] = None,
    push: Annotated[bool, typer.Option(help="Push to ECR too.")] = False,
) -> None:
    """Build a service's image with docker buildx, tagged <svc>-<env>-latest and <svc>-<env>-<time>-<sha>."""
    _image(service, env, tag, push=push)


@image_app.command("push")
def image_push(
    service: Annotated[str, typer.Argument(help="The service.")],
    env: EnvOption = DEFAULT_ENV,
    tag: Annotated[str | None, typer.Option(help="An extra tag, <service>-<env>-<tag> (e.g. v1.0.0).")] = None,
) -> None:
    """Build a service's image and push it to the project's ECR repository."""
    _image(service, env, tag, push=True)


def _image(service: str, env: str, tag: str | None, *, push: bool) -> None:
    from stratus.build.images import Docker, git_sha, plan_image, registry_host

    stack = load_stack(env=env)
    _service(stack, service)
    docker = Docker()
    docker.require()
    registry = None
    if push:
        import boto3

        from stratus.deploy.pipeline import Deployer, DeployOptions
        from stratus.deploy.preflight import check_credentials, raise_missing

        session = boto3.session.Session(region_name=stack.project.region)
        identity, missing = check_credentials(session.client("sts"))
        raise_missing([missing] if missing else [])
        assert identity is not None
        registry = registry_host(identity.account, stack.project.region)
        deployer = Deployer(stack, DeployOptions(env=env), client=lambda name: session.client(name))  # type: ignore[call-overload]
        if deployer.missing_repositories([service]):
            raise StratusError(
                f"the ECR repository {stack.resource_name(service)} does not exist yet",
                hint=f"`stratus deploy --env {env}` creates it (terraform apply -target=module.ecr_{service})",
            )
        deployer.login(registry)
    plan = plan_image(stack, service, registry=registry, sha=git_sha(stack.root), tag=tag)
    console.print(f"building {service} ({plan.dockerfile.name}, {plan.dockerfile.platform})")
    docker.build(plan, push=push)
    for ref in plan.refs:
        console.print(f"[green]✓[/] {'pushed' if push else 'built'} {ref}")
        typer.echo(ref)


@image_app.command("pin")
def image_pin(env: EnvOption = DEFAULT_ENV) -> None:
    """Record the current digest of every base image in images.lock (the Dockerfiles then use it)."""
    from stratus.build.dockerfiles import PINS_FILE, base_images
    from stratus.build.images import Docker

    stack = load_stack(env=env)
    docker = Docker()
    docker.require()
    pins = {image: docker.digest(image) for image in base_images(stack)}
    path = stack.root / PINS_FILE
    path.write_text(json.dumps({"images": pins}, indent=2, sort_keys=True) + "\n")
    for image, digest in pins.items():
        console.print(f"[green]✓[/] {image} @ {digest}")


# ------------------------------------------------------------------------------------------------ deploy


@app.command()
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


# -------------------------------------------------------------------------------------------------- test


@app.command("test")
def test_command(
    service: Annotated[str | None, typer.Option(help="Only this service's tests.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="unit or integration.")] = None,
    coverage: Annotated[bool, typer.Option(help="Measure coverage (pytest-cov).")] = False,
    html: Annotated[bool, typer.Option(help="Write an HTML coverage report to htmlcov/.")] = False,
    parallel: Annotated[int | None, typer.Option(help="Run on N processes (pytest-xdist).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    env: EnvOption = DEFAULT_ENV,
) -> None:
    """Run the services' tests with pytest (as the seeds' scripts/test.py)."""
    from stratus.deploy.testrun import TestType, pytest_argv

    if type_ not in (None, "unit", "integration"):
        raise StratusError(f"--type {type_!r}: use unit or integration")
    stack = load_stack(env=env)
    kind: TestType | None = "unit" if type_ == "unit" else "integration" if type_ == "integration" else None
    argv = pytest_argv(
        stack, service=service, kind=kind, coverage=coverage, html=html, parallel=parallel, verbose=verbose
    )
    console.print(f"[dim]{' '.join(argv[1:])}[/]")
    raise typer.Exit(subprocess.run(argv, cwd=stack.root, check=False).returncode)


# -------------------------------------------------------------------------------------------------- logs


@app.command()
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


# ------------------------------------------------------------------------------------------------ invoke


@app.command()
def invoke(
    service: Annotated[str, typer.Argument(help="The Lambda service.")],
    artifact: Annotated[Path | None, typer.Option(help="Boot this zip (from `stratus build`).")] = None,
    build_artifact: Annotated[
        bool, typer.Option("--build", help="Build the service for this machine first and boot that zip.")
    ] = False,
    event: Annotated[str | None, typer.Option(help="The event: a JSON file, or - for stdin.")] = None,
    method: Annotated[str, typer.Option(help="HTTP method of the API request.")] = "GET",
    path: Annotated[
        str | None, typer.Option(help="Path as the HTTP API receives it [default: <service path>/health].")
    ] = None,
    header: Annotated[list[str] | None, typer.Option(help="A request header, name:value (repeatable).")] = None,
    data: Annotated[str | None, typer.Option(help="The request body.")] = None,
    handler: Annotated[str | None, typer.Option(help="Another handler of the zip (e.g. a queue consumer).")] = None,
    env_var: Annotated[list[str] | None, typer.Option(help="An extra variable, NAME=value (repeatable).")] = None,
    aws_endpoint: Annotated[str | None, typer.Option(help="AWS_ENDPOINT_URL for the function.")] = None,
    env: EnvOption = DEFAULT_ENV,
) -> None:
    """Invoke a Lambda service (SERVICE or SERVICE:HANDLER) and print its response and logs: in the running
    `stratus dev`, or with --artifact (or --build) in a fresh environment booted from the zip as Lambda does,
    on a clean interpreter driven through the Lambda Runtime API."""
    from stratus.deploy.artifact import Artifact, invoke_artifact
    from stratus.local.logs import LogSink

    stack = load_stack(env=env)
    if ":" in service:
        service, _, handler = service.partition(":")
    svc = _service(stack, service)
    if not isinstance(svc, LambdaService):
        raise StratusError(f"{service} is a {svc.kind} service: only Lambda services are invoked")
    if artifact is None and not build_artifact:
        _invoke_running(
            stack, service, handler, _event_payload(stack, service, event, method, path, header or [], data)
        )
        return
    if build_artifact:
        artifact = _build_for_host(stack, service)
    assert artifact is not None
    payload = _event_payload(stack, service, event, method, path, header or [], data)
    extra = dict(_pair(item, "=", "--env-var") for item in env_var or [])
    sink = LogSink(sys.stderr, buffered=False)
    result = asyncio.run(
        invoke_artifact(
            Artifact.open(artifact), stack, service, payload, sink,
            endpoint=aws_endpoint, extra_env=extra, handler=handler,
        )
    )  # fmt: skip
    typer.echo(result.payload.decode(errors="replace"))
    summary = f"{result.duration_ms:.1f} ms{', cold start' if result.cold else ''}"
    if result.function_error:
        console.print(f"[red]function error[/] ({result.function_error}), {summary}")
        raise typer.Exit(1)
    try:
        status = json.loads(result.payload).get("statusCode")
    except (ValueError, AttributeError):
        status = None
    console.print(f"[green]✓[/] {f'HTTP {status}, ' if status else ''}{summary}")


def _invoke_running(stack: Stack, service: str, handler: str | None, payload: bytes) -> None:
    from stratus.local.client import invoke as invoke_running
    from stratus.local.client import running_stack

    running = running_stack(stack.root)
    if running is None or running.env != stack.env:
        raise StratusError(
            f"no stack runs here for environment {stack.env!r}",
            hint="start it with `uv run stratus dev`, or invoke a fresh environment with --build (or --artifact ZIP)",
        )
    result = invoke_running(running, running.function_key(service, handler), payload)
    if result.log:
        console.print(result.log.rstrip(), markup=False, highlight=False)
    typer.echo(result.payload.decode(errors="replace"))
    if result.function_error:
        console.print(f"[red]function error[/] ({result.function_error})")
        raise typer.Exit(1)


def _build_for_host(stack: Stack, service: str) -> Path:
    from stratus.build.package import Builder, BuildOptions
    from stratus.build.targets import host_target

    target = host_target()
    if target is None:
        raise StratusError("this machine is not one Lambda runs on (Linux, x86_64 or arm64, Python 3.11+)")
    options = BuildOptions(runtime=target.runtime, arch=target.arch, glibc=target.glibc_override)
    result = Builder(stack, options).build(service)
    console.print(f"[dim]built {result.path.name}[/]")
    return result.path


def _event_payload(
    stack: Stack, service: str, event: str | None, method: str, path: str | None, headers: list[str], data: str | None
) -> bytes:
    from stratus.deploy.artifact import http_event

    if event is not None:
        text = sys.stdin.read() if event == "-" else Path(event).read_text()
        try:
            json.loads(text)
        except ValueError as exc:
            raise StratusError(f"the event is not JSON: {exc}") from exc
        return text.encode()
    raw_path, _, query = (path or "").partition("?")
    return http_event(
        stack,
        service,
        method=method,
        path=raw_path or None,
        query=query,
        headers=[_pair(h, ":", "--header") for h in headers],
        body=(data or "").encode(),
    )


def _pair(item: str, sep: str, option: str) -> tuple[str, str]:
    key, found, value = item.partition(sep)
    if not found or not key.strip():
        raise StratusError(f"{option} {item!r}: expected NAME{sep}value")
    return key.strip(), value.strip() if sep == ":" else value


def _service(stack: Stack, name: str) -> Service:
    svc = stack.services.get(name)
    if svc is None:
        raise StratusError(f"no service named {name!r} in {stack.manifest_path.name}",
                           hint=f"services: {', '.join(stack.services)}")  # fmt: skip
    return svc
