"""Commands that make the artifacts: ``build`` (Lambda zips) and ``image`` (container images)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from stratus.cli._app import AWS, DEFAULT_ENV, EnvOption, app, console, service_of
from stratus.errors import StratusError
from stratus.manifest import load_stack

if TYPE_CHECKING:
    from stratus.build.package import BuildResult
    from stratus.manifest import Stack

image_app = typer.Typer(help="Container images: Dockerfiles, build, push.", no_args_is_help=True)
app.add_typer(image_app, name="image", rich_help_panel=AWS)

ArchOption = Annotated[str | None, typer.Option(help="arm64 or x86_64 [default: the manifest's].")]
RuntimeOption = Annotated[str | None, typer.Option(help="python3.11 … python3.14 [default: the manifest's].")]


# ------------------------------------------------------------------------------------------------- build


@app.command(rich_help_panel=AWS)
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
        if r.from_layers:
            console.print(
                f"  left out (AWS's Powertools layer brings them; stratus deploy checks its versions): "
                f"{', '.join(r.from_layers)}"
            )
        if r.layer is not None and r.layer.dropped_files:
            dropped = f"{r.layer.dropped_files} files ({human(r.layer.dropped_bytes)})"
            console.print(f"  dropped from dependencies: {dropped}: tests, caches, stubs, C sources, installer records")
        if r.layer is not None and r.layer.stripped_files:
            console.print(
                f"  stripped: {r.layer.stripped_files} shared libraries, {human(r.layer.stripped_bytes)} of sections "
                "never loaded (debug information, symbol tables)"
            )
        if r.report.sourceless:
            console.print(
                f"  dependency sources not shipped: {r.report.sourceless} imported modules ship as bytecode only "
                "(a traceback through them shows no source line; your own code keeps its sources)"
            )
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
    service_of(stack, service)
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
    from stratus.deploy.pipeline import Deployer, DeployOptions

    stack = load_stack(env=env)
    service_of(stack, service)
    deployer = Deployer(stack, DeployOptions(env=env, tag=tag), progress=lambda msg: console.print(msg))
    plan = deployer.image(service, push=push)
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
