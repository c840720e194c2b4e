"""``stratus init DIR``: a new project outside this repository that runs and passes its tests at once.

It holds the manifest with one Lambda service on ``/``, that service (as ``stratus new`` makes it), a copy of
``libs/common`` (the project never refers to this checkout's files, only to the toolkit), a root
``pyproject.toml`` (a uv workspace; the ``stratus`` toolkit installed by path from its checkout, since it is not
on PyPI), a README with the two commands (``uv run stratus dev``, ``uv run pytest``), ``.ci/run``, a
``.gitignore`` and the project's own tests.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import stratus
from stratus import naming
from stratus.scaffold import manifest_edit
from stratus.scaffold._common import create_files, parse_manifest, render_template
from stratus.scaffold.names import ScaffoldError, check_service_name, slugify
from stratus.scaffold.service import manifest_fields, service_files

__all__ = ["InitProject", "init_project", "toolkit_root"]

_COMMON_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache")


@dataclass
class InitProject:
    """What :func:`init_project` did."""

    root: Path
    name: str
    service: str
    toolkit: Path
    created: list[str] = field(default_factory=list)


def toolkit_root() -> Path:
    """The checkout of the stratus toolkit this command runs from (holding its pyproject.toml and libs/common)."""
    candidate = Path(stratus.__file__).resolve().parents[2]
    pyproject = candidate / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        name = None
    if name != "stratus" or not (candidate / "libs" / "common").is_dir():
        raise ScaffoldError(
            "stratus init needs the stratus checkout (its libs/common is copied, and the project depends on it)",
            hint="run it with the stratus of a checkout: uv run --project /path/to/stratus stratus init DIR",
        )
    return candidate


def init_project(
    directory: Path, *, name: str | None = None, service: str = "api", toolkit: Path | None = None
) -> InitProject:
    """Create the project in ``directory`` (absent or empty); raises :class:`ScaffoldError`, writing nothing, if not."""
    root = directory.resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{directory} exists and is not empty", hint="give stratus init a new or empty directory")
    toolkit = (toolkit or toolkit_root()).resolve()
    if root == toolkit or toolkit in root.parents:
        raise ScaffoldError(
            f"{directory} is inside the stratus checkout {toolkit}", hint="create the project outside of it"
        )
    project = name or slugify(root.name)
    if not project or not naming.SERVICE_NAME_RE.fullmatch(project):
        raise ScaffoldError(
            f"invalid project name {project or root.name!r}: lowercase letters, digits and hyphens",
            hint=f"give one with --name, e.g. --name {slugify(root.name) or 'acme'}",
        )
    check_service_name(service, this_environment=False)  # the project gets an environment of its own
    common = toolkit / "libs" / "common"

    manifest = manifest_edit.add_service(
        render_template("project/stratus.toml.j2", name=project), service, manifest_fields("lambda", "/", "none")
    )
    stack = parse_manifest(root, manifest)
    context = {"name": project, "service": service, "package": naming.package_name(service), "toolkit": str(toolkit)}
    files = {
        "stratus.toml": manifest,
        "pyproject.toml": render_template("project/pyproject.toml.j2", **context),
        "README.md": render_template("project/README.md.j2", **context),
        ".gitignore": render_template("project/gitignore.j2", **context),
        ".ci/run": render_template("project/ci/run.j2", **context),
        "tests/test_stack.py": render_template("project/tests/test_stack.py.j2", **context),
        **service_files(stack, service),
    }
    root.mkdir(parents=True, exist_ok=True)
    result = InitProject(root=root, name=project, service=service, toolkit=toolkit)
    result.created = create_files(root, files)
    shutil.copytree(common, root / "libs" / "common", ignore=_COMMON_IGNORE)
    result.created.append("libs/common/")
    return result
