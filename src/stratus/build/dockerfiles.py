"""Dockerfiles for container images: ``Dockerfile.lambda`` (a Lambda container image) and
``Dockerfile.apprunner`` (an App Runner or ECS Express service), rendered from the manifest.

Both build from the context ``stratus image build`` prepares (:mod:`stratus.build.images`):
``requirements.txt`` (exactly the locked versions, exported by uv) and ``app/`` (the service's package and
the workspace libraries it uses). Both are multi-stage: the build stage runs on the *build* machine's own
platform (``--platform=$BUILDPLATFORM``) and installs the target's wheels with uv's cross-platform resolver,
so an arm64 image builds on an x86_64 laptop without emulation (the final stage only copies). Bytecode is
compiled in the build stage by the same Python minor version as the image's.

Base images are pinned, never ``latest``: to the Python minor version and OS release
(``public.ecr.aws/lambda/python:3.13``, ``python:3.13-slim-bookworm``), and to a digest once
``stratus image pin`` has recorded one in ``images.lock`` (next to ``stratus.toml``): a tag still moves when
AWS or Docker publish a patched image; a digest does not.

The container image runs as a non-root user, listens on ``PORT`` and has a ``HEALTHCHECK`` on the
service's health path. :func:`check_dockerfile` checks those rules on any Dockerfile text.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from stratus.build.targets import Target
from stratus.manifest import Stack
from stratus.manifest.plan import ContainerPlan, Function

UV_IMAGE = "ghcr.io/astral-sh/uv:0.13.9"  # the uv the workspace is locked with
LAMBDA_BASE = "public.ecr.aws/lambda/python:{version}"
SLIM_BASE = "python:{version}-slim-bookworm"
BOOKWORM_GLIBC = (2, 36)
PINS_FILE = "images.lock"
CONTAINER_PLATFORM = "linux/amd64"  # App Runner runs x86_64 only; ECS Express defaults to it
CONTAINER_UID = 10001


@dataclass(frozen=True)
class Dockerfile:
    name: str  # Dockerfile.lambda | Dockerfile.apprunner
    platform: str  # linux/arm64 | linux/amd64
    text: str


def load_pins(root: Path) -> dict[str, str]:
    """Image reference -> ``sha256:...`` digest, from ``images.lock``."""
    path = root / PINS_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.get("images", {}).items()}


def pinned(image: str, pins: dict[str, str]) -> str:
    digest = pins.get(image)
    return f"{image}@{digest}" if digest else image


def base_images(stack: Stack) -> list[str]:
    """Every base image the stack's Dockerfiles use (what ``stratus image pin`` resolves)."""
    version = Target(stack.project.runtime, "x86_64").python_version
    return [UV_IMAGE, LAMBDA_BASE.format(version=version), SLIM_BASE.format(version=version)]


def render(stack: Stack, service: str) -> Dockerfile:
    plan = stack.plan.services[service]
    pins = load_pins(stack.root)
    if plan.container is None:
        return _lambda(service, plan.function("http"), pins)
    return _container(stack, service, plan.container, pins)


def _header(service: str, kind: str) -> list[str]:
    return [
        "# syntax=docker/dockerfile:1",
        f"# {service}: {kind}. Rendered by `stratus image dockerfile {service}` from stratus.toml; do not edit.",
        f"# Build context: what `stratus image build {service}` prepares in .stratus/build/images/{service}/",
        "# (requirements.txt exported from uv.lock, app/ with the service and the workspace libraries it uses).",
    ]


def _lambda(service: str, http: Function, pins: dict[str, str]) -> Dockerfile:
    target = Target(http.runtime, http.arch)
    platform = "linux/arm64" if target.arch == "arm64" else "linux/amd64"
    version = target.python_version
    lines = [
        *_header(service, f"AWS Lambda container image ({target})"),
        "",
        f"FROM --platform=$BUILDPLATFORM {pinned(SLIM_BASE.format(version=version), pins)} AS build",
        f"COPY --from={pinned(UV_IMAGE, pins)} /uv /usr/local/bin/uv",
        "COPY requirements.txt /tmp/requirements.txt",
        "RUN uv pip install --no-cache --target /asset --no-deps --only-binary :all: \\",
        f"      --python-platform {target.uv_platform} --python-version {version} -r /tmp/requirements.txt",
        "COPY app/ /asset/",
        "RUN python -m compileall -q --invalidation-mode unchecked-hash -s /asset -p /var/task /asset",
        "",
        f"FROM --platform={platform} {pinned(LAMBDA_BASE.format(version=version), pins)}",
        "COPY --from=build /asset ${LAMBDA_TASK_ROOT}",
        f"CMD {json.dumps([http.handler])}",
        "",
    ]
    return Dockerfile("Dockerfile.lambda", platform, "\n".join(lines))


def _container(stack: Stack, service: str, container: ContainerPlan, pins: dict[str, str]) -> Dockerfile:
    version = Target(stack.project.runtime, "x86_64").python_version
    slim = pinned(SLIM_BASE.format(version=version), pins)
    glibc = "manylinux_{}_{}".format(*BOOKWORM_GLIBC)
    health = container.health
    probe = (
        "import os, urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:%s{health.path}' % os.environ.get('PORT', '{container.port}'), "
        f"timeout={health.timeout})"
    )
    platform_name = "App Runner" if stack.services[service].kind == "apprunner" else "ECS Express"
    lines = [
        *_header(service, f"{platform_name} container ({CONTAINER_PLATFORM}, Python {version})"),
        "",
        f"FROM --platform=$BUILDPLATFORM {slim} AS build",
        f"COPY --from={pinned(UV_IMAGE, pins)} /uv /usr/local/bin/uv",
        "COPY requirements.txt /tmp/requirements.txt",
        "RUN uv pip install --no-cache --target /app/site --no-deps --only-binary :all: \\",
        f"      --python-platform x86_64-{glibc} --python-version {version} -r /tmp/requirements.txt",
        "COPY app/ /app/code/",
        "RUN python -m compileall -q --invalidation-mode unchecked-hash /app/code /app/site",
        "",
        f"FROM --platform={CONTAINER_PLATFORM} {slim}",
        f"RUN groupadd --system --gid {CONTAINER_UID} app \\",
        f"    && useradd --system --uid {CONTAINER_UID} --gid app --no-create-home --shell /usr/sbin/nologin app",
        "COPY --from=build /app /app",
        "ENV PYTHONPATH=/app/code:/app/site \\",
        "    PATH=/app/site/bin:$PATH \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PYTHONDONTWRITEBYTECODE=1 \\",
        f"    PORT={container.port}",
        "WORKDIR /app",
        f"USER {CONTAINER_UID}:{CONTAINER_UID}",
        f"EXPOSE {container.port}",
        f"HEALTHCHECK --interval={health.interval}s --timeout={health.timeout}s --start-period=10s "
        f"--retries={health.unhealthy} \\",
        f"    CMD {json.dumps(['python', '-c', probe])}",
        f"CMD {json.dumps(list(container.command))}",
        "",
    ]
    return Dockerfile("Dockerfile.apprunner", CONTAINER_PLATFORM, "\n".join(lines))


# ---------------------------------------------------------------------------------------------- checks

_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|ACCESS_KEY|API_KEY|CREDENTIAL)", re.I)
_SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|aws_secret_access_key", re.I)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return out


def _image_problem(image: str, stages: set[str]) -> str | None:
    if image in stages or image == "scratch":
        return None
    if _DIGEST.search(image):
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return f"base image {image!r} has no tag (it means :latest): pin a version tag"
    tag = name.split(":", 1)[1]
    if tag == "latest" or tag.endswith("-latest"):
        return f"base image {image!r} uses a moving 'latest' tag: pin a version tag"
    if not re.search(r"\d", tag):
        return f"base image {image!r} has a tag without a version ({tag!r}): pin a version tag"
    return None


@dataclass
class _Scan:
    problems: list[str]
    stages: set[str]
    user: str | None = None
    healthcheck: bool = False
    port: bool = False

    def image(self, image: str) -> None:
        problem = _image_problem(image, self.stages)
        if problem:
            self.problems.append(problem)


def _scan_instruction(scan: _Scan, instruction: str, args: list[str]) -> None:
    if instruction == "FROM":
        scan.image(args[0])
        if len(args) >= 3 and args[1].upper() == "AS":
            scan.stages.add(args[2])
        scan.user = None  # each stage starts as its base image's user
    elif instruction in ("COPY", "ADD"):
        for word in args:
            if word.startswith("--from="):
                scan.image(word.removeprefix("--from="))
        if instruction == "ADD" and any(w.startswith(("http://", "https://")) for w in args):
            scan.problems.append("ADD of a URL fetches unpinned content at build time: download and verify it instead")
    elif instruction == "USER":
        scan.user = args[0] if args else None
    elif instruction == "HEALTHCHECK":
        scan.healthcheck = bool(args) and args[0].upper() != "NONE"
    elif instruction in ("ENV", "ARG"):
        for word in args:
            key, has_value, value = word.partition("=")
            scan.port = scan.port or key == "PORT"
            if has_value and value and _SECRET_NAME.search(key):
                scan.problems.append(f"{instruction} {key} sets a secret in the image: pass it at run time instead")


def check_dockerfile(text: str, *, container: bool) -> list[str]:
    """What is wrong with a Dockerfile: unpinned or ``latest`` base images, secrets, and for a container
    image (``container``): running as root, no HEALTHCHECK, no PORT."""
    scan = _Scan(problems=[], stages=set())
    for line in _logical_lines(text):
        words = shlex.split(line, posix=True)
        if words:
            args = [w for w in words[1:] if not w.startswith("--platform=")]
            _scan_instruction(scan, words[0].upper(), args)
        if _SECRET_VALUE.search(line):
            scan.problems.append(f"what looks like a credential is written into the image: {line[:60]!r}")
    if container:
        if (scan.user or "root").split(":", 1)[0] in ("root", "0"):
            scan.problems.append("the container runs as root: add a USER with a non-root user in the final stage")
        if not scan.healthcheck:
            scan.problems.append("no HEALTHCHECK: add one on the service's health path")
        if not scan.port:
            scan.problems.append("PORT is not set: App Runner and ECS tell the service its port through it")
    return scan.problems
