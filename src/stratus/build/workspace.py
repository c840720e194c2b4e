"""What goes into a service's zip, read from the uv workspace: its requirements and its workspace sources.

- **Requirements** come from the lock, never from a fresh resolution: ``uv export --package <svc> --locked``
  lists the exact versions (with their environment markers) that the service and the workspace libraries it
  depends on need. The packages the Lambda runtime provides (boto3 and botocore by default) are left out
  together with everything only they need (s3transfer, python-dateutil, six, urllib3...): that part of the
  dependency graph is walked in ``uv.lock``. A package something else needs too (jmespath, which
  aws-lambda-powertools imports) stays. With ``[project] powertools = "layer"``, what AWS's Powertools layer holds
  (:data:`stratus.manifest.layers.POWERTOOLS_LAYER_DISTRIBUTIONS`) is left out as well, into ``from_layers``.
- **Wheels**: every requirement must have a wheel for the target (``uv pip install --only-binary :all:``);
  :func:`check_wheels` looks at the wheels the lock records for each pinned version and names *every*
  package that has none for the target in one error, before anything is downloaded.
- **Workspace sources**: the service's own package and the workspace members it depends on (libs/common)
  are copied as source, found from ``[tool.hatch.build.targets.wheel] packages`` or the ``<name>/`` /
  ``src/<name>/`` conventions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from stratus.build.targets import Target
from stratus.errors import PrerequisiteError, StratusError

# What every Lambda Python runtime has on its path (boto3 and botocore, with their own dependencies).
DEFAULT_PROVIDED: tuple[str, ...] = ("boto3", "botocore")

_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:==\s*(?P<version>[^\s;]+))?")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of ``uv export``: ``name==version ; marker``."""

    name: str  # canonical (lowercase, hyphens)
    version: str | None
    marker: str | None
    line: str


@dataclass(frozen=True, slots=True)
class Member:
    """A workspace member whose code ships as source: the service itself, or a library it uses."""

    name: str
    root: Path
    sources: tuple[Path, ...]  # top-level package directories (or single-module files)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a service needs from PyPI and from the workspace."""

    package: str
    requirements: tuple[Requirement, ...]
    members: tuple[Member, ...]
    left_out: tuple[str, ...]  # provided by the runtime (or only needed by what it provides)
    from_layers: tuple[Requirement, ...] = ()  # the pins a managed layer brings instead (left out of the zip)

    def requirements_text(self) -> str:
        return "".join(f"{r.line}\n" for r in self.requirements)


def uv_executable() -> str:
    """The ``uv`` to run: on PATH, or next to this interpreter (``pip install uv`` puts it there)."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    raise PrerequisiteError("uv is not installed", hint="install it: `pip install uv` (https://docs.astral.sh/uv/)")


def run_uv(args: list[str], *, cwd: Path, what: str) -> str:
    """Run uv and return its stdout; a failure becomes a StratusError carrying uv's own message."""
    proc = subprocess.run(
        [uv_executable(), *args], cwd=cwd, capture_output=True, text=True, check=False, env=_uv_environ()
    )
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip()
        hint = None
        if "lockfile" in message and ("needs to be updated" in message or "not found" in message.lower()):
            hint = "run `uv lock` to bring uv.lock up to date with the pyproject.toml files, then build again"
        raise StratusError(f"{what} failed:\n{message}", hint=hint)
    return proc.stdout


def _uv_environ() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)  # uv warns when it does not match the project's .venv
    env.setdefault("UV_NO_PROGRESS", "1")
    return env


# --------------------------------------------------------------------------------------------------- lock


class Lock:
    """``uv.lock``: the workspace's members and the dependency graph of every locked package."""

    def __init__(self, root: Path) -> None:
        path = root / "uv.lock"
        if not path.exists():
            raise StratusError(
                f"{path} does not exist",
                hint="run `uv lock` at the workspace root: builds install exactly what the lock says",
            )
        self.root = root
        data = tomllib.loads(path.read_text())
        self.packages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in data.get("package", []):
            self.packages[canonicalize_name(entry["name"])].append(entry)
        self.members: set[str] = {str(canonicalize_name(n)) for n in data.get("manifest", {}).get("members", [])}
        if not self.members:  # a single-project lock: the project itself is the only member
            self.members = {
                name for name, entries in self.packages.items() if any(_local_path(e) == "." for e in entries)
            }

    def member_root(self, name: str) -> Path | None:
        for entry in self.packages.get(canonicalize_name(name), []):
            local = _local_path(entry)
            if local is not None:
                return (self.root / local).resolve()
        return None

    def walk(self, package: str, provided: set[str]) -> tuple[set[str], set[str]]:
        """Every package ``package`` needs at run time, not descending into ``provided``.

        Returns (needed, reached_provided). Extras are followed (``uvicorn[standard]``); dev groups are not.
        """
        needed: set[str] = set()
        reached: set[str] = set()
        seen: set[tuple[str, tuple[str, ...]]] = set()
        todo: list[tuple[str, tuple[str, ...]]] = [(canonicalize_name(package), ())]
        while todo:
            name, extras = todo.pop()
            if (name, extras) in seen:
                continue
            seen.add((name, extras))
            if name in provided:
                reached.add(name)
                continue
            needed.add(name)
            for entry in self.packages.get(name, []):
                deps = list(entry.get("dependencies", []))
                for extra in extras:
                    deps += entry.get("optional-dependencies", {}).get(extra, [])
                for dep in deps:
                    todo.append((canonicalize_name(dep["name"]), tuple(sorted(dep.get("extra", [])))))
        return needed, reached

    def wheels(self, name: str, version: str | None) -> tuple[list[str], bool] | None:
        """The wheel file names locked for ``name==version`` and whether it has an sdist; None if unknown."""
        for entry in self.packages.get(canonicalize_name(name), []):
            if version is not None and entry.get("version") != version:
                continue
            if "registry" not in entry.get("source", {}):
                return None  # a git/url/path source: uv builds it; nothing to check here
            files = [w["url"].rsplit("/", 1)[-1] for w in entry.get("wheels", []) if "url" in w]
            files += [w["filename"] for w in entry.get("wheels", []) if "filename" in w]
            return files, "sdist" in entry
        return None


def _local_path(entry: dict[str, Any]) -> str | None:
    source = entry.get("source", {})
    for key in ("editable", "virtual", "directory"):
        if key in source:
            return str(source[key])
    return None


# ------------------------------------------------------------------------------------------- resolution


def project_name(service_dir: Path) -> str:
    """The ``[project] name`` of the service's pyproject.toml."""
    pyproject = service_dir / "pyproject.toml"
    if not pyproject.exists():
        raise StratusError(
            f"{pyproject} does not exist",
            hint="every service is a uv workspace member with its own pyproject.toml (see `stratus new`)",
        )
    try:
        return str(tomllib.loads(pyproject.read_text())["project"]["name"])
    except (KeyError, tomllib.TOMLDecodeError) as exc:
        raise StratusError(f"{pyproject}: no [project] name ({exc})") from exc


def resolve(
    root: Path,
    service_dir: Path,
    *,
    provided: tuple[str, ...] = DEFAULT_PROVIDED,
    layers: frozenset[str] = frozenset(),
    lock: Lock | None = None,
) -> Resolution:
    """The locked requirements and the workspace sources of the service in ``service_dir``; those of the
    distributions ``layers`` (what AWS's managed layers hold) the service needs are left out, into ``from_layers``."""
    package = project_name(service_dir)
    lock = lock or Lock(root)
    if canonicalize_name(package) not in lock.members:
        raise StratusError(
            f"{package!r} ({service_dir}) is not a member of the uv workspace at {root}",
            hint="list it under [tool.uv.workspace] members in the root pyproject.toml and run `uv lock`",
        )
    provided_set = {str(canonicalize_name(p)) for p in provided}
    needed, _ = lock.walk(package, provided_set)
    # Only what a layer is known to hold is left out for it: what those packages need beside (jmespath, which AWS
    # deletes from the Powertools layer because the runtime has one) stays in the zip, which comes first on sys.path.
    layered = needed & {str(canonicalize_name(d)) for d in layers}
    needed -= layered
    exported = run_uv(
        [
            "export",
            "--package",
            package,
            "--locked",
            "--no-dev",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--no-emit-workspace",
            "--format",
            "requirements.txt",
        ],
        cwd=root,
        what=f"uv export --package {package}",
    )
    requirements: list[Requirement] = []
    from_layers: list[Requirement] = []
    left_out: set[str] = set()
    for requirement in parse_requirements(exported):
        if requirement.name in layered and requirement.version is not None:
            from_layers.append(requirement)
        elif requirement.name in needed or requirement.name in layered:  # a layer holds no git or path build
            requirements.append(requirement)
        else:
            left_out.add(requirement.name)
    members = tuple(
        _member(lock, name)
        for name in sorted(needed & lock.members, key=lambda n: (n != canonicalize_name(package), n))
    )
    return Resolution(
        package=package,
        requirements=tuple(sorted(requirements, key=lambda r: r.name)),
        members=members,
        left_out=tuple(sorted(left_out)),
        from_layers=tuple(sorted(from_layers, key=lambda r: r.name)),
    )


def parse_requirements(text: str) -> list[Requirement]:
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-")):
            continue
        m = _REQUIREMENT.match(line)
        if m is None:
            raise StratusError(f"cannot read the requirement {line!r} exported by uv")
        marker = line.split(";", 1)[1].strip() if ";" in line else None
        out.append(Requirement(canonicalize_name(m["name"]), m["version"], marker, line))
    return out


def _member(lock: Lock, name: str) -> Member:
    root = lock.member_root(name)
    if root is None:
        raise StratusError(f"workspace member {name!r} has no local source in uv.lock", hint="run `uv lock`")
    return Member(name, root, member_sources(root, name))


def member_sources(root: Path, name: str) -> tuple[Path, ...]:
    """The top-level packages a workspace member ships, as its wheel would."""
    pyproject = root / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text()) if pyproject.exists() else {}
    configured = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    paths = [root / p for p in configured.get("packages", [])]
    if not paths:
        module = name.replace("-", "_").replace(".", "_")
        for candidate in (root / module, root / "src" / module, root / f"{module}.py", root / "src" / f"{module}.py"):
            if candidate.exists():
                paths = [candidate]
                break
    missing = [p for p in paths if not p.exists()]
    if not paths or missing:
        where = ", ".join(str(p) for p in missing) if missing else f"{root}/{name.replace('-', '_')}/"
        raise StratusError(
            f"cannot find the code of workspace member {name!r} ({where})",
            hint="name its packages in [tool.hatch.build.targets.wheel] packages = [...] in its pyproject.toml",
        )
    return tuple(paths)


# -------------------------------------------------------------------------------------------- wheels


def target_tags(target: Target) -> set[Tag]:
    """Every wheel tag that installs on ``target`` (CPython, its glibc and older manylinux, this CPU)."""
    major, minor = target.glibc
    machine = target.machine
    platforms = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
    platforms += [f"{alias}_{machine}" for alias, glibc in legacy.items() if glibc <= minor]
    version = target.version
    tags = set(cpython_tags(python_version=version, abis=[f"cp{version[0]}{version[1]}"], platforms=platforms))
    tags |= set(compatible_tags(python_version=version, interpreter=f"cp{version[0]}{version[1]}", platforms=platforms))
    return tags


def marker_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker values of the Lambda runtime's interpreter."""
    version = target.python_version
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "os_name": "posix",
        "platform_machine": target.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{version}.0",
        "python_version": version,
        "sys_platform": "linux",
    }


def applies(requirement: Requirement, target: Target) -> bool:
    """Whether the requirement's marker holds on the target (so it gets installed)."""
    if requirement.marker is None:
        return True
    try:
        return Marker(requirement.marker).evaluate(marker_environment(target))
    except InvalidMarker:
        return True


def check_wheels(resolution: Resolution, target: Target, lock: Lock) -> None:
    """Raise one error naming every requirement that has no wheel for ``target``."""
    tags = target_tags(target)
    problems: list[str] = []
    for requirement in resolution.requirements:
        if not applies(requirement, target):
            continue
        known = lock.wheels(requirement.name, requirement.version)
        if known is None:
            continue
        files, has_sdist = known
        compatible = False
        platforms: set[str] = set()
        for file in files:
            try:
                _, _, _, wheel_tags = parse_wheel_filename(file)
            except InvalidWheelFilename:
                continue
            if wheel_tags & tags:
                compatible = True
                break
            platforms |= {f"{t.interpreter}-{t.platform}" for t in wheel_tags}
        if compatible:
            continue
        pinned = f"{requirement.name}=={requirement.version}" if requirement.version else requirement.name
        if files:
            shown = ", ".join(sorted(platforms)[:6]) + (", ..." if len(platforms) > 6 else "")
            problems.append(f"{pinned}: no wheel for {target.runtime} on {target.arch} (has: {shown})")
        else:
            problems.append(f"{pinned}: no wheel at all{' (source only)' if has_sdist else ''}")
    if problems:
        note = ""
        if target.glibc == (2, 17) and target.runtime == "python3.11":
            note = (
                "\n  (python3.11 runs on Amazon Linux 2, glibc 2.26; below 2.28 uv can only select manylinux_2_17 "
                "wheels, so wheels tagged manylinux_2_24/2_26 are out of reach: python3.12+ has no such limit)"
            )
        raise StratusError(
            f"{len(problems)} dependenc{'ies have' if len(problems) != 1 else 'y has'} no wheel for "
            f"{target} ({target.uv_platform}):\n  " + "\n  ".join(problems) + note,
            hint="Lambda zips are built from wheels only; pick versions that publish one for this target "
            "(pin them in pyproject.toml and run `uv lock`), choose another --arch/--runtime, "
            "or use a container image (`stratus image build`)",
        )
