"""Terraform, as the deploy runs it: ``init``, ``plan`` to a saved plan file, ``apply`` of that plan, outputs.

The root module is ``infra/terraform`` (rendered by ``stratus infra``); every command runs there with
``-input=false``. Its state is in the bootstrap's S3 bucket, one key per environment
(``init -reconfigure -backend-config=environments/<env>.s3.tfbackend``), and the environment's settings
come from ``environments/<env>.tfvars``. What only the deploy knows (the zips it just built, the images it
just pushed) is passed as ``-var`` values built in one place, :func:`deploy_variables`, matching the
root's ``variables.tf``:

- ``lambda_packages``: ``{ "<service>" = "<absolute path of the zip>" }`` for every zip-packaged Lambda;
- ``image_tags``: ``{ "<service>" = "<tag>" }`` for every image service (the image is
  ``module.ecr_<service>.repository_url:<tag>``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from stratus.errors import StratusError

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def deploy_variables(zips: Mapping[str, Path], image_tags: Mapping[str, str]) -> dict[str, str]:
    """The ``-var`` values of a deploy: the Terraform root's ``lambda_packages`` and ``image_tags``."""
    return {
        "lambda_packages": json.dumps({name: str(path) for name, path in sorted(zips.items())}),
        "image_tags": json.dumps(dict(sorted(image_tags.items()))),
    }


class Terraform:
    def __init__(self, workdir: Path, *, run: Runner | None = None, executable: str = "terraform") -> None:
        self.workdir = workdir
        self.run = run or subprocess.run
        self.executable = executable

    def _call(self, args: list[str], *, what: str, capture: bool = False) -> str:
        try:
            proc = self.run([self.executable, *args], cwd=self.workdir, text=True, check=False, capture_output=capture)
        except FileNotFoundError as exc:  # pragma: no cover - preflight checks for it first
            raise StratusError("terraform is not installed") from exc
        if proc.returncode != 0:
            detail = f": {(proc.stderr or proc.stdout or '').strip()}" if capture else " (its output is above)"
            raise StratusError(f"terraform {what} failed with exit code {proc.returncode}{detail}")
        return proc.stdout or ""

    def init(self, *, backend_config: str | None = None) -> None:
        args = ["init", "-input=false"]
        if backend_config:
            args += ["-reconfigure", f"-backend-config={backend_config}"]
        self._call(args, what="init")

    def plan(self, *, var_file: str, variables: Mapping[str, str], out: Path) -> None:
        self._call(["plan", "-input=false", *_vars(var_file, variables), f"-out={out}"], what="plan")

    def apply_targets(self, targets: list[str], *, var_file: str, variables: Mapping[str, str]) -> None:
        """Apply only ``targets`` (e.g. the ECR repositories images are pushed to before the full plan)."""
        args = ["apply", "-input=false", "-auto-approve", *(f"-target={t}" for t in targets)]
        self._call([*args, *_vars(var_file, variables)], what=f"apply -target ({', '.join(targets)})")

    def apply(self, plan: Path) -> None:
        self._call(["apply", "-input=false", str(plan)], what="apply")

    def output(self, name: str) -> str:
        return self._call(["output", "-raw", name], what=f"output {name}", capture=True).strip()


def _vars(var_file: str, variables: Mapping[str, str]) -> list[str]:
    args = [f"-var-file={var_file}"]
    for name, value in variables.items():
        args += ["-var", f"{name}={value}"]
    return args
