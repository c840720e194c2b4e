"""Container images: their build context, their tags, and the ``docker`` commands that build and push them.

Each container service has its ECR repository, ``<project>-<env>-<service>`` (``stratus infra`` renders it as
``module.ecr_<service>``). Tags follow the seeds: ``<service>-<env>-latest`` (moves with every push) and
``<service>-<env>-YYYYMMDD-HHMMSS-<git sha>`` (never moves: what a deploy points at, and what a rollback goes
back to); ``--tag v1.0.0`` adds ``<service>-<env>-v1.0.0``.

Docker is only ever run through :class:`Docker`, whose ``run`` can be replaced, and the build context is a
directory Stratus writes (``.stratus/build/images/<service>/``), so what reaches the daemon is exactly the
Dockerfile, the locked requirements and the service's code: no ``.venv``, no ``.git``, no secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stratus import paths
from stratus.build import slim
from stratus.build.dockerfiles import Dockerfile, render
from stratus.build.workspace import resolve
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import Stack

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def repository_name(stack: Stack, service: str) -> str:
    """The service's ECR repository: ``<project>-<env>-<service>``."""
    return stack.plan.services[service].aws_name


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def image_tags(
    service: str, env: str, *, sha: str, now: dt.datetime | None = None, tag: str | None = None
) -> list[str]:
    """``<svc>-<env>-latest``, ``<svc>-<env>-YYYYMMDD-HHMMSS-<sha>`` and, with ``tag``, ``<svc>-<env>-<tag>``."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    tags = [f"{service}-{env}-latest", f"{service}-{env}-{moment}-{sha}"]
    if tag:
        tags.append(f"{service}-{env}-{tag}")
    return tags


def git_sha(root: Path) -> str:
    """The short commit of the workspace, or ``nogit`` outside a repository."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return "nogit"
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "nogit"


@dataclass(frozen=True)
class ImagePlan:
    """One image to build: where its context is, for what platform, under which names."""

    service: str
    context: Path
    dockerfile: Dockerfile
    refs: tuple[str, ...]  # full references, <registry>/<repository>:<tag>

    @property
    def versioned(self) -> str:
        """The reference that never moves (the timestamped tag)."""
        return self.refs[1]

    @property
    def tag(self) -> str:
        """The timestamped tag alone: what Terraform's ``image_tags`` gets."""
        return self.versioned.rsplit(":", 1)[1]


def prepare_context(stack: Stack, service: str) -> tuple[Path, Dockerfile]:
    """Write ``.stratus/build/images/<service>/``: the Dockerfile, ``requirements.txt`` and ``app/``."""
    dockerfile = render(stack, service)
    resolution = resolve(stack.root, stack.service_dir(service), provided=())  # an image carries its own boto3
    context = paths.build_dir(stack.root) / "images" / service
    tmp = context.with_name(f".{service}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "app").mkdir(parents=True)
    try:
        (tmp / "Dockerfile").write_text(dockerfile.text)
        (tmp / "requirements.txt").write_text(resolution.requirements_text())
        for member in resolution.members:
            for package in member.sources:
                for file in slim.source_files(package):
                    dest = tmp / "app" / file.relative_to(package.parent)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, dest)
        shutil.rmtree(context, ignore_errors=True)
        tmp.replace(context)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return context, dockerfile


def plan_image(
    stack: Stack,
    service: str,
    *,
    registry: str | None,
    sha: str,
    tag: str | None = None,
    now: dt.datetime | None = None,
) -> ImagePlan:
    context, dockerfile = prepare_context(stack, service)
    repository = repository_name(stack, service)
    prefix = f"{registry}/{repository}" if registry else repository
    tags = image_tags(service, stack.env, sha=sha, now=now, tag=tag)
    return ImagePlan(service, context, dockerfile, tuple(f"{prefix}:{t}" for t in tags))


class Docker:
    """The ``docker`` CLI (with buildx); ``run`` is ``subprocess.run`` unless a test gives another."""

    def __init__(self, run: Runner | None = None, *, executable: str = "docker") -> None:
        self.run = run or subprocess.run
        self.executable = executable

    def _call(
        self, args: Sequence[str], *, input: str | None = None, stream: bool = False
    ) -> subprocess.CompletedProcess[str]:
        try:
            if stream:
                return self.run([self.executable, *args], input=input, text=True, check=False)
            return self.run([self.executable, *args], input=input, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise PrerequisiteError(
                "docker is not installed: get Docker Desktop or docker-ce (https://docs.docker.com/get-docker/)"
            ) from exc

    def problem(self) -> str | None:
        """Why images cannot be built here (no docker, no daemon, no buildx), or None."""
        if shutil.which(self.executable) is None and self.run is subprocess.run:
            return "docker is not installed: get Docker Desktop or docker-ce (https://docs.docker.com/get-docker/)"
        info = self._call(["info", "--format", "{{.ServerVersion}}"])
        if info.returncode != 0 or not info.stdout.strip():
            return (
                "no Docker daemon answers (`docker info` failed): "
                "start Docker (Docker Desktop, or `sudo systemctl start docker`)"
            )
        buildx = self._call(["buildx", "version"])
        if buildx.returncode != 0:
            return "docker buildx is missing: install the docker-buildx-plugin (https://docs.docker.com/build/)"
        return None

    def require(self) -> None:
        problem = self.problem()
        if problem:
            raise PrerequisiteError(problem)

    def login(self, registry: str, username: str, password: str) -> None:
        proc = self._call(["login", "--username", username, "--password-stdin", registry], input=password)
        if proc.returncode != 0:
            raise StratusError(f"docker login to {registry} failed: {(proc.stderr or proc.stdout).strip()}")

    def build(self, plan: ImagePlan, *, push: bool) -> None:
        args = ["buildx", "build", "--platform", plan.dockerfile.platform, "--file", str(plan.context / "Dockerfile")]
        for ref in plan.refs:
            args += ["--tag", ref]
        args += ["--push" if push else "--load", str(plan.context)]
        proc = self._call(args, stream=True)
        if proc.returncode != 0:
            raise StratusError(
                f"building the image of {plan.service} failed (docker exited with {proc.returncode})",
                hint=f"the Dockerfile and context are in {plan.context}",
            )

    def digest(self, image: str) -> str:
        """The registry's digest of ``image`` (for ``images.lock``)."""
        proc = self._call(["buildx", "imagetools", "inspect", image, "--format", "{{json .Manifest}}"])
        if proc.returncode != 0:
            raise StratusError(f"cannot inspect {image}: {(proc.stderr or proc.stdout).strip()}")
        try:
            return str(json.loads(proc.stdout)["digest"])
        except (ValueError, KeyError) as exc:
            raise StratusError(f"unexpected answer from `docker buildx imagetools inspect {image}`") from exc
