"""``stratus new lambda|apprunner|ecs-express NAME``: a service that works at once, locally, in tests and in Terraform.

:func:`new_service` checks everything first (the name, the path, the edited manifest parsed for every
environment, the Terraform rendered from it), then creates ``services/NAME/`` (never overwriting a file),
adds the service to the root ``pyproject.toml`` and to ``stratus.toml`` (last, so a running ``stratus dev``
sees a service whose code is already there) and rewrites ``infra/terraform`` if the project has one.
:func:`sync` installs it into the workspace environment (``uv sync``), a separate, slower step.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from stratus import naming, paths, release
from stratus.build.dockerfiles import render as render_dockerfile
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import MANIFEST_NAME, Stack
from stratus.scaffold import manifest_edit
from stratus.scaffold._common import (
    create_files,
    current_manifest,
    render_infra,
    render_template,
    replace_text,
    validate_edit,
    write_infra,
)
from stratus.scaffold.names import ScaffoldError, check_path, check_service_name

__all__ = ["AUTH_MODES", "KINDS", "NewService", "new_service", "service_files", "sync"]

Kind = Literal["lambda", "apprunner", "ecs-express"]
KINDS: tuple[Kind, ...] = ("lambda", "apprunner", "ecs-express")
AUTH_MODES = ("none", "api_key", "token")
KIND_TEXT = {
    "lambda": "an AWS Lambda function (Mangum)",
    "apprunner": "an App Runner container (uvicorn)",
    "ecs-express": "an ECS Express Mode container (uvicorn)",
}


@dataclass
class NewService:
    """What :func:`new_service` did."""

    name: str
    package: str
    kind: Kind
    path: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    infra_written: list[str] = field(default_factory=list)
    infra: bool = False
    seconds: float = 0.0


def manifest_fields(kind: Kind, path: str, auth: str) -> dict[str, object]:
    """The ``[services.NAME]`` table of a new service: its kind, route, and the sizes written out to tune."""
    fields: dict[str, object] = {"kind": kind, "path": path}
    if auth != "none":
        fields["auth"] = auth
    if kind == "lambda":
        fields |= {"memory": 512, "timeout": 30}
    else:
        fields |= {"cpu": 1024, "memory": 2048}
    return fields


def service_files(stack: Stack, name: str, *, prefix: str = "services") -> dict[str, str]:
    """The files of ``services/NAME`` (relative path -> text) for a service declared in ``stack``."""
    svc = stack.services[name]
    kind: Kind = svc.kind
    container = kind != "lambda"
    package = naming.package_name(name)
    dockerfile = render_dockerfile(stack, name)
    base_path = "" if svc.path == "/" else svc.path
    context = {
        "name": name,
        "package": package,
        "kind": kind,
        "kind_text": KIND_TEXT[kind],
        "container": container,
        "path": svc.path,
        "base_path": base_path,
        "proxy_prefix": base_path + "/",
        "auth": svc.auth,
        "title": " ".join(part.capitalize() for part in name.split("-")) + " Service",
        "dockerfile": dockerfile.name,
        # the runtime library: this workspace's own (the toolkit's repository), else the release's by version
        "common_in_workspace": (stack.root / "libs" / "common" / "pyproject.toml").is_file(),
        "common_requirement": release.compatible(release.RUNTIME),
    }
    base = f"{prefix}/{name}"
    files = {
        f"{base}/pyproject.toml": "service/pyproject.toml.j2",
        f"{base}/README.md": "service/README.md.j2",
        f"{base}/{package}/__init__.py": "service/package/__init__.py.j2",
        f"{base}/{package}/main.py": f"service/package/main_{'container' if container else 'lambda'}.py.j2",
        f"{base}/tests/unit/conftest.py": "service/tests/unit/conftest.py.j2",
        f"{base}/tests/unit/test_{package}_app.py": "service/tests/unit/test_app.py.j2",
        f"{base}/tests/integration/test_{package}_integration.py": "service/tests/integration/test_integration.py.j2",
    }
    if container:
        files[f"{base}/{package}/__main__.py"] = "service/package/__main__.py.j2"
        files[f"{base}/tests/unit/test_{package}_process.py"] = "service/tests/unit/test_process.py.j2"
    else:
        files[f"{base}/tests/unit/test_{package}_lambda.py"] = "service/tests/unit/test_lambda.py.j2"
    out = {rel: render_template(template, **context) for rel, template in files.items()}
    out[f"{base}/{dockerfile.name}"] = dockerfile.text
    return out


def new_service(
    root: Path, kind: Kind, name: str, *, path: str | None = None, auth: str = "none", infra: bool = True
) -> NewService:
    """Create service ``name`` of ``kind`` in the project at ``root``; see the module docstring.

    Raises :class:`ScaffoldError` (nothing written) for an invalid name or path, a service or directory that
    already exists, or an edit that would make the manifest invalid.
    """
    started = time.perf_counter()
    if kind not in KINDS:
        raise ScaffoldError(f"unknown service kind {kind!r}", hint=f"one of {', '.join(KINDS)}")
    if auth not in AUTH_MODES:
        raise ScaffoldError(f"unknown auth {auth!r}", hint=f"one of {', '.join(AUTH_MODES)}")
    text, stack = current_manifest(root)
    if name in stack.services:
        raise ScaffoldError(
            f"service {name!r} already exists in {MANIFEST_NAME}", hint="choose another name; nothing was changed"
        )
    check_service_name(name, existing=frozenset(stack.services))
    route = check_path(path or f"/{name}", {svc.path: other for other, svc in stack.services.items()})
    service_dir = root / "services" / name
    if service_dir.exists():
        raise ScaffoldError(
            f"services/{name} already exists",
            hint="stratus never overwrites files: move it away or choose another name",
        )

    new_text = manifest_edit.add_service(text, name, manifest_fields(kind, route, auth))
    stacks = validate_edit(root, new_text)
    files = service_files(stacks["dev"] if "dev" in stacks else next(iter(stacks.values())), name)
    pyproject = root / "pyproject.toml"
    new_pyproject = (
        manifest_edit.add_workspace_member(pyproject.read_text(encoding="utf-8"), name) if pyproject.is_file() else None
    )
    terraform = render_infra(root, stacks) if infra else None

    result = NewService(name=name, package=naming.package_name(name), kind=kind, path=route)
    result.created = create_files(root, files)
    if new_pyproject is not None:
        replace_text(pyproject, new_pyproject)
        result.updated.append("pyproject.toml")
    replace_text(root / MANIFEST_NAME, new_text)
    result.updated.append(MANIFEST_NAME)
    result.infra = terraform is not None
    result.infra_written = [str(paths.INFRA_DIR / rel) for rel in write_infra(root, terraform)]
    result.seconds = time.perf_counter() - started
    return result


def sync(root: Path) -> float:
    """``uv sync`` in ``root``: install the workspace's members (a new service included); returns the seconds."""
    uv = shutil.which("uv")
    if uv is None:
        raise PrerequisiteError("uv is not installed", hint="pip install uv, then run `uv sync`")
    started = time.perf_counter()
    done = subprocess.run([uv, "sync"], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise StratusError(f"uv sync failed: {tail[0]}", hint="run `uv sync` to see the whole error")
    return time.perf_counter() - started
