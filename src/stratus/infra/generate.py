"""``stratus infra``: render the Terraform of every environment, write it, and check what was written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus import paths
from stratus.errors import StratusError
from stratus.infra.check import check_references
from stratus.infra.render import render
from stratus.infra.writer import WriteReport, write
from stratus.manifest import DEFAULT_ENV, load_stack

if TYPE_CHECKING:
    from pathlib import Path

    from stratus.manifest import Stack


@dataclass(frozen=True)
class Generated:
    target: Path
    report: WriteReport
    environments: list[str]


def environment_stacks(root: Path, also: str = DEFAULT_ENV) -> dict[str, Stack]:
    """The manifest seen from every environment it declares (and ``also``)."""
    base = load_stack(root, env=DEFAULT_ENV)
    return {env: load_stack(root, env=env) for env in sorted({*base.environment_names, also})}


def generate(root: Path, *, env: str = DEFAULT_ENV, target: Path | None = None) -> Generated:
    """Write the Terraform of the project at ``root`` (to ``target``, default ``infra/terraform``); refuse to
    leave a configuration whose references do not resolve (a hand-written file beside the generated ones)."""
    stacks = environment_stacks(root, also=env)
    target = target or paths.infra_dir(root)
    report = write(target, render(stacks))
    findings = check_references(target)
    if findings:
        raise StratusError(
            f"the generated Terraform has unresolved references: {findings[0].render()}"
            + (f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""),
            hint="a file added beside the generated ones may refer to something removed; run stratus infra check",
        )
    return Generated(target, report, sorted(stacks))
