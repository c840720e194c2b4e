"""Before a deploy touches anything: is every tool and credential it needs there?

Every check runs, and every missing prerequisite is reported in one error, each with how to get it, so a
fresh machine learns everything it lacks at once instead of one failure per attempt.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stratus.build.images import Docker
from stratus.errors import PrerequisiteError

MIN_TERRAFORM = (1, 11)  # write-only arguments: generated secrets never reach the state
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Missing:
    what: str
    how: str

    def render(self) -> str:
        return f"{self.what}: {self.how}"


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


def terraform_version(run: Runner, executable: str = "terraform") -> tuple[int, ...] | None:
    try:
        proc = run([executable, "version", "-json"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    try:
        version = str(json.loads(proc.stdout)["terraform_version"])
    except (ValueError, KeyError):
        match = re.search(r"v?(\d+\.\d+\.\d+)", proc.stdout)
        if match is None:
            return None
        version = match.group(1)
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def check_terraform(run: Runner) -> Missing | None:
    how = "install Terraform >= 1.11: https://developer.hashicorp.com/terraform/install"
    version = terraform_version(run)
    if version is None:
        return Missing("terraform is not installed (or `terraform version` fails)", how)
    if version[:2] < MIN_TERRAFORM:
        return Missing(f"terraform {'.'.join(map(str, version))} is too old (>= 1.11 needed)", how)
    return None


def check_credentials(sts: Any) -> tuple[Identity | None, Missing | None]:
    try:
        answer = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return None, Missing(
            f"no usable AWS credentials (sts get-caller-identity: {exc})",
            "run `aws configure` or `aws sso login`, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    return Identity(str(answer["Account"]), str(answer["Arn"])), None


def check_region(region: str, known: list[str]) -> Missing | None:
    if known and region not in known:
        return Missing(f"region {region!r} is not an AWS region", "set [project] region in stratus.toml")
    return None


def check_infra(workdir: Path, env: str) -> Missing | None:
    tfvars = workdir / "environments" / f"{env}.tfvars"
    if not workdir.is_dir():
        return Missing(f"{workdir} does not exist", "render the Terraform with `stratus infra`")
    if not tfvars.is_file():
        return Missing(f"{tfvars} does not exist", f"render the Terraform for {env} with `stratus infra --env {env}`")
    return None


def check_docker(docker: Docker) -> Missing | None:
    problem = docker.problem()
    if problem is None:
        return None
    what, _, how = problem.partition(": ")
    return Missing(what, how)


def raise_missing(missing: list[Missing]) -> None:
    if not missing:
        return
    count = len(missing)
    lines = "\n".join(f"  - {m.render()}" for m in missing)
    raise PrerequisiteError(
        f"{count} prerequisite{'s are' if count != 1 else ' is'} missing for the deploy:\n{lines}",
        hint="fix all of the above, then run the deploy again",
    )
