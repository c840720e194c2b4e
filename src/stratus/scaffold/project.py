"""``stratus init DIR``: a new project outside this repository that runs and passes its tests at once.

It holds the manifest with one Lambda service on ``/``, that service (as ``stratus new`` makes it), a root
``pyproject.toml`` (a uv workspace of its services; the toolkit, ``stratus-serverless``, in its dev group and the
runtime library, ``stratus-common``, in each service, both by a version range compatible with this toolkit: no
path of this machine, see :mod:`stratus.release`), a README with the commands (how to install the tool,
``stratus dev``, ``uv run pytest``), ``.ci/run``, a ``.gitignore`` and the project's own tests, which use the
toolkit's pytest plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stratus import naming, release
from stratus.scaffold import manifest_edit
from stratus.scaffold._common import create_files, parse_manifest, render_template
from stratus.scaffold.names import ScaffoldError, check_service_name, slugify
from stratus.scaffold.service import manifest_fields, service_files

__all__ = ["InitProject", "init_project"]


@dataclass
class InitProject:
    """What :func:`init_project` did."""

    root: Path
    name: str
    service: str
    created: list[str] = field(default_factory=list)


def init_project(directory: Path, *, name: str | None = None, service: str = "api") -> InitProject:
    """Create the project in ``directory`` (absent or empty); raises :class:`ScaffoldError`, writing nothing, if not."""
    root = directory.resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{directory} exists and is not empty", hint="give stratus init a new or empty directory")
    project = name or slugify(root.name)
    if not project or not naming.SERVICE_NAME_RE.fullmatch(project):
        raise ScaffoldError(
            f"invalid project name {project or root.name!r}: lowercase letters, digits and hyphens",
            hint=f"give one with --name, e.g. --name {slugify(root.name) or 'acme'}",
        )
    check_service_name(service, this_environment=False)  # the project gets an environment of its own

    manifest = manifest_edit.add_service(
        render_template("project/stratus.toml.j2", name=project), service, manifest_fields("lambda", "/", "none")
    )
    stack = parse_manifest(root, manifest)
    context = {
        "name": project,
        "service": service,
        "package": naming.package_name(service),
        "toolkit": release.TOOLKIT,
        "toolkit_requirement": release.compatible(release.TOOLKIT, extras="check"),
        "version": release.toolkit_version(),
    }
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
    result = InitProject(root=root, name=project, service=service)
    result.created = create_files(root, files)
    return result
