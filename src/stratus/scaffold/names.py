"""The naming rules of ``stratus new`` / ``add`` / ``init``: what a service or resource may be called, and why not.

A service name becomes a directory (``services/NAME``), an AWS name (``<project>-<env>-NAME``) and a
top-level Python package (``NAME`` with hyphens as underscores), so it must be:

- lowercase letters, digits and single hyphens, starting with a letter (the seeds' conventions);
- specific: not a generic word (``app``, ``service``, ``test``) nor a numbered one (``service1``, ``api2``);
- not reserved: not the toolkit's or the workspace's own names (``stratus``, ``common``, ``libs``), not a
  Python standard-library module (``json``, ``email``) and not a package installed in the environment
  (``fastapi``), which the service's package would shadow or be shadowed by.

Every refusal raises :class:`ScaffoldError` saying why, with a valid name to use instead.
"""

from __future__ import annotations

import importlib.util
import re
import sys

from stratus import naming
from stratus.errors import StratusError
from stratus.manifest import PATH_RE

__all__ = [
    "GENERIC_NAMES",
    "RESERVED_NAMES",
    "ScaffoldError",
    "check_path",
    "check_resource_name",
    "check_service_name",
    "slugify",
]


class ScaffoldError(StratusError):
    """Bad input to ``stratus new``, ``add`` or ``init``: nothing was written (exit 2, a usage error)."""

    exit_code = 2


GENERIC_NAMES = frozenset(
    {
        "app", "application", "apps", "service", "services", "svc", "srv", "server", "backend", "frontend",
        "test", "tests", "testing", "example", "sample", "demo-app", "foo", "bar", "baz", "tmp", "temp", "new",
        "my-service", "myservice", "my-app", "myapp", "new-service", "lambda", "function", "func", "handler",
        "container", "project", "thing", "stuff", "misc", "default", "main", "module", "package",
    }
)  # fmt: skip
"""Names that say nothing of what the service does."""

_NUMBERED_STEMS = GENERIC_NAMES | {"api", "web", "worker", "microservice", "ms", "s", "x"}
"""``api2``, ``service-1``: a number is no name."""

RESERVED_NAMES = frozenset(
    {
        "stratus", "stratus-common", "common", "libs", "lib", "services", "infra", "src", "tests", "bench",
        "build", "dist", "site", "conftest", "setup", "venv", "node-modules", "docs", "scripts", "typing",
        # what every service imports: a package of the same name would shadow it
        "fastapi", "starlette", "pydantic", "mangum", "uvicorn", "boto3", "botocore", "httpx", "moto", "pytest",
        "jinja2", "typer", "rich", "tomlkit", "psycopg", "awslambdaric",
    }
)  # fmt: skip
"""The toolkit's and the workspace's own names, and the libraries services are built on."""


def slugify(text: str) -> str:
    """``My_Service 2`` -> ``my-service-2``: the nearest name made of lowercase letters, digits and hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text.strip()).lower()).strip("-")
    slug = re.sub(r"^[0-9-]+", "", slug)
    return slug


def _importable(package: str) -> bool:
    """Whether ``import package`` already finds something: an installed or workspace (editable) package."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _format_problem(name: str) -> str | None:
    if not name:
        return "a name cannot be empty"
    if name != name.lower():
        return "names are lowercase"
    if "_" in name:
        return "use hyphens, not underscores (the package gets underscores)"
    if not name[0].isalpha():
        return "names start with a letter"
    if re.search(r"[^a-z0-9-]", name):
        return "names are lowercase letters, digits and hyphens only"
    if "--" in name or name.endswith("-"):
        return "hyphens separate words: no double or trailing hyphen"
    return None


_EXAMPLES = "a name that says what the service does, e.g. orders, billing-api or notifier"


def _specific_suggestion(name: str, *, suffix: str) -> str:
    """A valid name near ``name`` (``json`` -> ``json-api``), or an example when there is none."""
    stem = re.sub(r"-?\d+$", "", name)
    if stem == name and naming.SERVICE_NAME_RE.fullmatch(f"{stem}-{suffix}") and stem not in GENERIC_NAMES:
        return f"{stem}-{suffix}"
    return ""


def _try(suggestion: str) -> str:
    return f"try {suggestion!r}" if suggestion and naming.SERVICE_NAME_RE.fullmatch(suggestion) else f"use {_EXAMPLES}"


def check_service_name(name: str, *, existing: frozenset[str] = frozenset(), this_environment: bool = True) -> str:
    """Return ``name`` if it can name a new service; raise :class:`ScaffoldError` saying why not, otherwise.

    ``existing``: the names of the stack's services, which are the workspace's own packages (not collisions).
    ``this_environment``: whether the service will be installed where stratus runs (``stratus new``), so that a
    package installed here would collide with it; a new project (``stratus init``) gets an environment of its own.
    """
    problem = _format_problem(name)
    if problem is not None:
        suggestion = slugify(name)
        if suggestion and _problem_of(suggestion, existing, this_environment):
            suggestion = _specific_suggestion(suggestion, suffix="api")
        raise ScaffoldError(f"invalid service name {name!r}: {problem}", hint=_try(suggestion))
    problem = _problem_of(name, existing, this_environment)
    if problem is not None:
        raise ScaffoldError(
            f"invalid service name {name!r}: {problem}", hint=_try(_specific_suggestion(name, suffix="api"))
        )
    if not naming.SERVICE_NAME_RE.fullmatch(name):  # pragma: no cover - the checks above cover the pattern
        raise ScaffoldError(f"invalid service name {name!r}", hint="lowercase letters, digits and hyphens")
    return name


def _problem_of(name: str, existing: frozenset[str], this_environment: bool = True) -> str | None:
    """Why a well-formed name is still refused, or None."""
    if name in GENERIC_NAMES:
        return "too generic: a service's name says what it does"
    numbered = re.fullmatch(r"(?P<stem>[a-z-]*?)-?\d+", name)
    if numbered and numbered["stem"] in _NUMBERED_STEMS:
        return "a generic name with a number says nothing of what the service does"
    package = naming.package_name(name)
    if name in RESERVED_NAMES or package in RESERVED_NAMES:
        return "reserved: the toolkit, the workspace or the libraries services use already have that name"
    if package in sys.stdlib_module_names:
        return f"reserved: the package {package!r} would shadow Python's standard-library module of that name"
    if this_environment and name not in existing and _importable(package):
        return f"reserved: a package named {package!r} is already installed, and the service's would collide with it"
    return None


def check_resource_name(kind: naming.ResourceKind, name: str) -> str:
    """Return ``name`` if it can name a new queue, table, bucket or database; raise :class:`ScaffoldError` if not."""
    pattern = naming.BUCKET_NAME_RE if kind == "bucket" else naming.RESOURCE_NAME_RE
    if pattern.fullmatch(name):
        return name
    problem = _format_problem(name.replace("_", "-") if kind != "bucket" else name) or "not a valid name"
    what = "letters, digits and hyphens" if kind == "bucket" else "letters, digits, hyphens and underscores"
    if problem.startswith("names are lowercase letters"):
        problem = f"{kind} names are lowercase {what}"
    suggestion = slugify(name) or "events"
    raise ScaffoldError(f"invalid {kind} name {name!r}: {problem}", hint=f"try {suggestion!r}")


def check_path(path: str, routed: dict[str, str]) -> str:
    """Return ``path`` if it can route a new service; ``routed`` maps the stack's paths to their services."""
    if not PATH_RE.fullmatch(path):
        suggestion = "/" + slugify(path)
        raise ScaffoldError(
            f"invalid path {path!r}: a route path is '/' or '/segment[/segment…]' of lowercase letters, digits, "
            "hyphens and underscores, without a trailing slash",
            hint=f"try {suggestion!r}",
        )
    if path in routed:
        raise ScaffoldError(
            f"path {path!r} is already routed to service {routed[path]!r}",
            hint=f"give the new service another path with --path, e.g. {path.rstrip('/')}-v2"
            if path != "/"
            else "give the new service a path of its own with --path /NAME",
        )
    return path
