"""``stratus infra``: write the stack's Terraform; ``stratus infra check``: check it without terraform."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer

from stratus import paths
from stratus.cli._app import AWS, DEFAULT_ENV, app, console
from stratus.errors import StratusError
from stratus.manifest import find_root

infra_app = typer.Typer(
    help="Terraform for the whole stack from stratus.toml (least privilege, checkov-clean, deterministic).",
    no_args_is_help=False,
)
app.add_typer(infra_app, name="infra", rich_help_panel=AWS)

InfraEnvOption = Annotated[
    str,
    typer.Option(
        "--env", "-e", help="Also write the tfvars of this environment (those of every declared one always are)."
    ),
]
DirOption = Annotated[
    Path | None, typer.Option("--dir", help="The Terraform directory (default: infra/terraform of the project).")
]


@infra_app.callback(invoke_without_command=True)
def infra(ctx: typer.Context, env: InfraEnvOption = DEFAULT_ENV, directory: DirOption = None) -> None:
    """Write infra/terraform: modules, one file per service and resource, tfvars per environment."""
    if ctx.invoked_subcommand is not None:
        return
    from stratus.infra.generate import generate

    root = find_root()
    done = generate(root, env=env, target=directory)
    for rel in done.report.written:
        console.print(f"  [green]wrote[/] {rel}")
    for rel in done.report.removed:
        console.print(f"  [yellow]removed[/] {rel} (no longer in stratus.toml)")
    report = done.report
    console.print(
        f"[green]✓[/] {_shown(done.target, root)}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed; environments {', '.join(done.environments)}"
    )


@infra_app.command()
def check(
    directory: DirOption = None,
    checkov: Annotated[bool, typer.Option(help="Run checkov after the reference check.")] = True,
) -> None:
    """Parse every .tf file, resolve every reference and module input, and run checkov (no failed check)."""
    from stratus.infra.check import check_references, run_checkov

    root = find_root()
    target = directory or paths.infra_dir(root)
    if not target.is_dir():
        raise StratusError(f"{target} does not exist", hint="generate it with `stratus infra`")
    shown = _shown(target, root)
    findings = check_references(target)
    for finding in findings:
        console.print(f"[red]error[/] {shown}/{finding.render()}", soft_wrap=True)
    files = sum(1 for _ in target.rglob("*.tf"))
    if findings:
        raise StratusError(
            f"{len(findings)} unresolved reference{'s' * (len(findings) != 1)} in {shown}",
            hint="fix them (in stratus.toml for generated files, then run stratus infra)",
        )
    console.print(f"[green]✓[/] {shown}: {files} .tf files parse; every reference and module input resolves")
    if not checkov:
        return
    console.print("[dim]running checkov (terraform, offline)…[/]")
    result = run_checkov(target)
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for skip in result.skipped:
        reasons[(skip.check_id, skip.reason)].append(skip.resource)
    for (check_id, reason), resources in sorted(reasons.items()):
        console.print(f"  [dim]skipped {check_id} ({len(resources)}×): {reason}[/]", soft_wrap=True)
    for failed in result.failed:
        console.print(
            f"[red]failed[/] {failed.check_id} {failed.resource} ({failed.file}:{failed.line}): {failed.name}",
            soft_wrap=True,
        )
    for error in result.parsing_errors:
        console.print(f"[red]parsing error[/] {error}", soft_wrap=True)
    summary = (
        f"checkov {result.version}: {result.passed} passed, {len(result.failed)} failed, "
        f"{len(result.skipped)} skipped, {result.resources} resources"
    )
    if not result.ok:
        raise StratusError(
            summary, hint="fix the resources, or skip a check next to the resource with #checkov:skip=ID:reason"
        )
    console.print(f"[green]✓[/] {summary}")


def _shown(target: Path, root: Path) -> str:
    try:
        return target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(target)
