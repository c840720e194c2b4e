"""Reading ``stratus.toml``: :func:`load_stack` parses and checks the whole file for one environment and raises
:class:`~stratus.manifest.problems.ManifestError` carrying *every* problem found.

Checks run in two passes: each table is validated on its own (types, ranges, unknown keys), so one bad service
does not hide the problems of another; then the cross-references (:mod:`stratus.manifest.checks`) run over
everything that parsed.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stratus.errors import StratusError
from stratus.manifest.checks import check_paths, check_stack, check_uses
from stratus.manifest.problems import ManifestError, Problem, problems_from
from stratus.manifest.schema import (
    DEFAULT_ENV,
    MANIFEST_NAME,
    PER_ENVIRONMENT,
    RESOURCE_TABLES,
    AlarmsConfig,
    ApiConfig,
    ContainerService,
    EnvironmentConfig,
    LambdaService,
    NetworkConfig,
    ProjectConfig,
    Service,
    _Model,
)
from stratus.manifest.stack import Stack


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding a ``stratus.toml``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise StratusError(
        f"no {MANIFEST_NAME} found in {here} or any parent directory",
        hint="run stratus from inside a Stratus project, or create one with `stratus init DIR`",
    )


def load_stack(root: Path | None = None, env: str = DEFAULT_ENV) -> Stack:
    """Read, validate and resolve the manifest for ``env``; raises :class:`ManifestError` with every problem."""
    root = find_root(root)
    path = root / MANIFEST_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([Problem("", f"not valid TOML: {exc}")]) from exc
    return parse_stack(raw, root=root, env=env)


def parse_stack(raw: dict[str, Any], *, root: Path, env: str = DEFAULT_ENV) -> Stack:
    """Validate a decoded manifest for ``env``: all problems, of every environment, at once."""
    problems: list[Problem] = []
    known = {"project", "environments", "api", "services", "network", "alarms", *RESOURCE_TABLES}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean [{close[0]}]?" if close else f"; known tables: {', '.join(sorted(known))}"
            problems.append(Problem(key, f"unknown table{hint}"))

    project = _one(ProjectConfig, raw.get("project"), "project", problems)
    api = _one(ApiConfig, raw.get("api", {}), "api", problems) or ApiConfig()
    network = _one(NetworkConfig, raw["network"], "network", problems) if "network" in raw else None
    alarms = _one(AlarmsConfig, raw.get("alarms", {}), "alarms", problems) or AlarmsConfig()
    environments = _many(EnvironmentConfig, raw.get("environments", {}), "environments", problems)
    resources = {
        table: _many(model, raw.get(table, {}), table, problems) for table, (_, model) in RESOURCE_TABLES.items()
    }
    raw_services = raw.get("services", {})
    services = _services(raw_services, "services", problems)

    # The same manifest, seen from each environment: overrides must be valid too.
    env_views: dict[str, Mapping[str, Service]] = {}
    for env_name, env_raw in (raw.get("environments") or {}).items():
        overrides = env_raw.get("services", {}) if isinstance(env_raw, dict) else {}
        if not isinstance(overrides, dict) or not overrides:
            continue
        for svc_name, fields in overrides.items():
            if svc_name not in raw_services:
                problems.append(Problem(f"environments.{env_name}.services.{svc_name}", "no such service"))
            elif isinstance(fields, dict):
                problems += _check_per_environment(env_name, svc_name, raw_services[svc_name], fields)
        merged = _merge(raw_services, {k: v for k, v in overrides.items() if k in raw_services})
        env_problems: list[Problem] = []
        view = _services(merged, "services", env_problems)
        for p in env_problems:
            if _is_override(p.location, overrides):
                problems.append(Problem(f"environments.{env_name}.{p.location}", p.message))
        env_views[env_name] = view

    if project is None:  # still check the rest, with the project's name if it has one
        raw_name = (raw.get("project") or {}).get("name") if isinstance(raw.get("project"), dict) else None
        project = ProjectConfig.model_construct(name=raw_name if isinstance(raw_name, str) else "project")
    stack = Stack(
        root=root,
        env=env,
        project=project,
        api=api,
        services=env_views.get(env, services),
        queues=resources["queues"],
        tables=resources["tables"],
        buckets=resources["buckets"],
        databases=resources["databases"],
        secrets=resources["secrets"],
        models=resources["models"],
        declared_network=network,
        alarms=alarms,
        environments=environments,
    )
    problems.extend(check_stack(stack, stack.environment_names))
    # Routes and references are checked on the raw tables too, so a service with a bad field still counts.
    if isinstance(raw_services, dict):
        problems.extend(check_paths(raw_services))
        problems.extend(check_uses(stack, raw_services))
    if problems:
        raise ManifestError(_dedupe(problems))
    return stack


def _one(model: type[_Model], data: Any, loc: str, problems: list[Problem]) -> Any:
    if data is None:
        problems.append(Problem(loc, f"the [{loc}] table is required"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, loc, model))
        return None


def _many(model: type[_Model], data: Any, loc: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.append(Problem(loc, f"must be a table of named entries, [{loc}.NAME]"))
        return {}
    out = {}
    for name, entry in data.items():
        parsed = _one(model, entry if entry is not None else {}, f"{loc}.{name}", problems)
        if parsed is not None:
            out[name] = parsed
    return out


def _services(data: Any, loc: str, problems: list[Problem]) -> dict[str, Service]:
    if not isinstance(data, dict):
        problems.append(Problem(loc, "must be a table of services, [services.NAME]"))
        return {}
    out: dict[str, Service] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(Problem(f"{loc}.{name}", "must be a table"))
            continue
        kind = entry.get("kind")
        model: type[_Model]
        if kind == "lambda":
            model = LambdaService
        elif kind in ("apprunner", "ecs-express"):
            model = ContainerService
        else:
            got = "missing" if kind is None else f"got {kind!r}"
            problems.append(Problem(f"{loc}.{name}.kind", f'must be "lambda", "apprunner" or "ecs-express" ({got})'))
            continue
        parsed = _one(model, entry, f"{loc}.{name}", problems)
        if parsed is not None:
            out[name] = parsed
    return out


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_override(location: str, overrides: dict[str, Any]) -> bool:
    node: Any = {"services": overrides}
    for part in location.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _check_per_environment(env: str, service: str, base: Any, fields: dict[str, Any]) -> list[Problem]:
    """Only what one Terraform configuration can choose by environment may differ between environments."""
    kind = base.get("kind") if isinstance(base, dict) else None
    allowed = PER_ENVIRONMENT.get(kind) if isinstance(kind, str) else None
    if allowed is None:
        return []  # the service's own problem (its kind) is reported where it is declared
    return [
        Problem(
            f"environments.{env}.services.{service}.{field}",
            f"cannot differ between environments: one Terraform configuration serves them all, so only "
            f"{', '.join(allowed)} of a {kind} service may (set services.{service}.{field} for every environment)",
        )
        for field in fields
        if field not in allowed
    ]
