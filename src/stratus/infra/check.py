"""``stratus infra check``: the generated Terraform, checked without a terraform binary.

1. Every ``.tf`` file parses, with one HCL parser: bc-python-hcl2 (imported as ``hcl2``), the one checkov
   itself uses; ``.tfvars`` files too.
2. Every reference resolves, module by module (a directory is a module): ``var.X`` to a variable, ``local.X``
   to a local, ``module.X`` to a module call and ``module.X.Y`` to an output of that module, ``data.T.N`` to a
   data source, ``T.N`` to a resource; every module call's source is a local directory, every input it
   passes is a variable of that module, and every variable without a default is passed; every key of an
   ``environments/*.tfvars`` file is a variable of its root.
3. checkov (``--framework terraform --skip-download``, no network) finds no failed check; skipped checks
   are listed with the reason written next to the resource (``#checkov:skip=ID:reason``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratus.errors import PrerequisiteError, StratusError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CheckovResult",
    "Finding",
    "Module",
    "check_references",
    "find_checkov",
    "parse_modules",
    "references",
    "run_checkov",
]

_SKIP_DIRS = frozenset({".terraform"})
_META_ARGS = frozenset({"source", "version", "providers", "count", "for_each", "depends_on"})
_LINE_KEYS = frozenset({"__start_line__", "__end_line__"})
_NOT_RESOURCES = frozenset(
    {"var", "local", "module", "data", "ephemeral", "each", "count", "self", "path", "terraform"}
)
_TRAVERSAL = re.compile(r"(?<![\w.\-\]])([A-Za-z_][\w-]*)((?:\s*(?:\.[A-Za-z_*][\w-]*|\[))*)")
_FOR_VARS = re.compile(r"\bfor\s+([A-Za-z_][\w-]*)(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\b")


@dataclass(frozen=True, order=True)
class Finding:
    """Something wrong in the Terraform: where (file relative to the checked directory, line) and what."""

    file: str
    line: int
    message: str

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class Module:
    """What a directory of .tf files declares."""

    path: Path
    variables: dict[str, bool] = field(default_factory=dict)  # name -> required (no default)
    locals: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)  # "type.name"
    data: set[str] = field(default_factory=set)  # "type.name"
    ephemeral: set[str] = field(default_factory=set)  # "type.name"
    outputs: set[str] = field(default_factory=set)
    calls: dict[str, tuple[str, set[str], str, int]] = field(default_factory=dict)  # name -> source, inputs, where
    blocks: list[tuple[str, int, Any]] = field(default_factory=list)  # file, line, body of each top-level block


# --------------------------------------------------------------------------------------------------- parsing


def _hcl2() -> Any:
    try:
        import hcl2  # bc-python-hcl2, checkov's own parser
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise PrerequisiteError(
            "the HCL parser (bc-python-hcl2, installed with checkov) is missing",
            hint="uv sync (checkov is in the dev dependency group), or pip install checkov",
        ) from exc
    return hcl2


def _tf_files(root: Path, suffix: str) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(suffix):
                yield Path(dirpath) / name


def parse_modules(root: Path) -> tuple[dict[Path, Module], list[Finding]]:
    """Parse every .tf file under ``root``; a module per directory, and what did not parse."""
    modules: dict[Path, Module] = {}
    findings: list[Finding] = []
    for path in _tf_files(root, ".tf"):
        rel = path.relative_to(root).as_posix()
        try:
            doc = _parse(path.read_text(encoding="utf-8"))
        except Exception as exc:  # lark raises several unrelated exception types
            findings.append(Finding(rel, getattr(exc, "line", 0) or 0, f"does not parse: {_first_line(exc)}"))
            continue
        module = modules.setdefault(path.parent.resolve(), Module(path.parent.resolve()))
        _declare(module, rel, doc)
    return modules, findings


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> dict[str, Any]:
    """Parse HCL text (the copied modules are the same text in every run: parsed once). Never mutated."""
    doc: dict[str, Any] = _hcl2().loads(text)
    return doc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _declare(module: Module, rel: str, doc: dict[str, Any]) -> None:
    for kind, entries in doc.items():
        for entry in entries:
            if kind in ("resource", "data", "ephemeral"):
                declared = {"resource": module.resources, "data": module.data, "ephemeral": module.ephemeral}[kind]
                for rtype, named in entry.items():
                    for rname, body in named.items():
                        declared.add(f"{rtype}.{rname}")
                        module.blocks.append((rel, body.get("__start_line__", 0), body))
            elif kind == "variable":
                for name, body in entry.items():
                    module.variables[name] = "default" not in body
                    module.blocks.append((rel, body.get("__start_line__", 0), body))
            elif kind == "output":
                for name, body in entry.items():
                    module.outputs.add(name)
                    module.blocks.append((rel, body.get("__start_line__", 0), body))
            elif kind == "module":
                for name, body in entry.items():
                    source = _scalar(body.get("source"))
                    inputs = {k for k in body if k not in _META_ARGS and k not in _LINE_KEYS}
                    line = body.get("__start_line__", 0)
                    module.calls[name] = (source if isinstance(source, str) else "", inputs, rel, line)
                    module.blocks.append((rel, line, body))
            elif kind == "locals":
                module.locals.update(k for k in entry if k not in _LINE_KEYS)
                module.blocks.append((rel, entry.get("__start_line__", 0), entry))
            else:  # terraform, provider, moved, check, ...
                module.blocks.append((rel, entry.get("__start_line__", 0) if isinstance(entry, dict) else 0, entry))


def _scalar(value: Any) -> Any:
    """bc-python-hcl2 wraps attribute values in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


# --------------------------------------------------------------------------------------------------- references


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in _LINE_KEYS:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _iterators(node: Any) -> set[str]:
    """Names bound by the dynamic blocks in ``node`` (their label, or their ``iterator``)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "dynamic":
                for entry in value if isinstance(value, list) else [value]:
                    for label, body in entry.items():
                        out.add(label)
                        iterator = _scalar(body.get("iterator")) if isinstance(body, dict) else None
                        if isinstance(iterator, str):
                            out.add(iterator.strip("${}"))
            out |= _iterators(value)
    elif isinstance(node, list):
        for item in node:
            out |= _iterators(item)
    return out


def _interpolations(text: str) -> Iterator[str]:
    """The expression inside each ``${...}`` of a template string (``$${`` is a literal)."""
    i = 0
    while (start := text.find("${", i)) != -1:
        if start > 0 and text[start - 1] == "$":
            i = start + 2
            continue
        end = _closing(text, start + 1)
        yield text[start + 2 : end]
        i = end + 1


def _closing(text: str, open_at: int) -> int:
    """Index of the brace closing the one at ``open_at``, skipping quoted strings and their interpolations."""
    depth = 0
    i = open_at
    quote: str | None = None
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = None
            elif text.startswith("${", i):
                i = _closing(text, i + 1) + 1
                continue
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _code(expression: str) -> tuple[str, list[str]]:
    """``expression`` with its string literals blanked out, and the interpolations found inside them."""
    out: list[str] = []
    nested: list[str] = []
    i = 0
    while i < len(expression):
        char = expression[i]
        if char in "'\"":
            end = i + 1
            while end < len(expression) and expression[end] != char:
                if expression[end] == "\\":
                    end += 1
                elif expression.startswith("${", end):
                    close = _closing(expression, end + 1)
                    nested.append(expression[end + 2 : close])
                    end = close
                end += 1
            out.append(" " * (end + 1 - i))
            i = end + 1
            continue
        out.append(char)
        i += 1
    return "".join(out), nested


def references(text: str, bound: frozenset[str] = frozenset()) -> list[tuple[str, ...]]:
    """The traversals a string refers to, e.g. ``("module", "sqs_jobs", "queue_arn")``, ``("aws_x", "this")``.

    Only what is inside ``${...}`` counts; string literals inside expressions are skipped (their own
    interpolations are not); names bound by ``for`` expressions and ``bound`` names (dynamic-block iterators)
    are not references.
    """
    out: list[tuple[str, ...]] = []
    for expression in _interpolations(text):
        out.extend(_expression_references(expression, bound))
    return out


def _expression_references(expression: str, bound: frozenset[str]) -> list[tuple[str, ...]]:
    code, nested = _code(expression)
    local_names = set(bound)
    for match in _FOR_VARS.finditer(code):
        local_names.update(name for name in match.groups() if name)
    out: list[tuple[str, ...]] = []
    consumed = 0  # the end of the last traversal: its indexes were read with it
    for match in _TRAVERSAL.finditer(code):
        if match.start() < consumed:
            continue
        root = match.group(1)
        parts, indexes, consumed = _split_traversal(code, match)
        if root not in local_names and parts and not code[match.end(1) :].lstrip().startswith("("):
            out.append((root, *parts))
        for index in indexes:
            out.extend(_expression_references(index, frozenset(local_names)))
    for inner in nested:
        out.extend(_expression_references(inner, frozenset(local_names)))
    return out


def _split_traversal(code: str, match: re.Match[str]) -> tuple[list[str], list[str], int]:
    """Attribute names after the root (up to the first index), the text of every index, where it ends."""
    parts: list[str] = []
    indexes: list[str] = []
    i = match.end(1)
    indexed = False
    while i < len(code):
        rest = code[i:]
        stripped = rest.lstrip()
        i += len(rest) - len(stripped)
        if stripped.startswith("."):
            attr = re.match(r"\.([A-Za-z_*][\w-]*)", stripped)
            if not attr:
                break
            if not indexed:
                parts.append(attr.group(1))
            i += attr.end()
        elif stripped.startswith("["):
            depth, j = 0, i
            while j < len(code):
                if code[j] == "[":
                    depth += 1
                elif code[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            indexes.append(code[i + 1 : j])
            indexed = True
            i = j + 1
        else:
            break
    return parts, indexes, i


def check_references(root: Path) -> list[Finding]:
    """Parse everything under ``root`` and resolve every reference; what does not resolve, as findings."""
    modules, findings = parse_modules(root)
    for module in modules.values():
        findings.extend(_check_module(root, module, modules))
    findings.extend(_check_tfvars(root, modules))
    return sorted(set(findings))


def _check_module(root: Path, module: Module, modules: dict[Path, Module]) -> list[Finding]:
    findings: list[Finding] = []
    for rel, line, body in module.blocks:
        bound = frozenset(_iterators(body))
        for text in _strings(body):
            for ref in references(text, bound):
                problem = _resolve(module, modules, ref)
                if problem:
                    findings.append(Finding(rel, line, problem))
    for name, (source, inputs, rel, line) in module.calls.items():
        if not source.startswith(("./", "../")):
            findings.append(Finding(rel, line, f'module "{name}": source {source!r} is not a local directory'))
            continue
        target = modules.get((module.path / source).resolve())
        if target is None:
            findings.append(Finding(rel, line, f'module "{name}": no .tf files in {source}'))
            continue
        for arg in sorted(inputs - set(target.variables)):
            findings.append(Finding(rel, line, f'module "{name}": {source} has no variable "{arg}"'))
        for var in sorted(v for v, required in target.variables.items() if required and v not in inputs):
            findings.append(Finding(rel, line, f'module "{name}": required variable "{var}" of {source} is not set'))
    return findings


def _resolve(module: Module, modules: dict[Path, Module], ref: tuple[str, ...]) -> str | None:
    root, *parts = ref
    if root == "var":
        return None if parts[0] in module.variables else f"var.{parts[0]} is not a declared variable"
    if root == "local":
        return None if parts[0] in module.locals else f"local.{parts[0]} is not a declared local"
    if root in ("data", "ephemeral"):
        if len(parts) < 2:
            return f"{root}.{'.'.join(parts)} is incomplete"
        key = f"{parts[0]}.{parts[1]}"
        declared, what = (module.data, "data source") if root == "data" else (module.ephemeral, "ephemeral resource")
        return None if key in declared else f"{root}.{key} is not a declared {what}"
    if root == "module":
        call = module.calls.get(parts[0])
        if call is None:
            return f"module.{parts[0]} is not a declared module"
        target = modules.get((module.path / call[0]).resolve())
        if len(parts) > 1 and target is not None and parts[1] not in target.outputs:
            return f'module.{parts[0]}.{parts[1]}: {call[0]} has no output "{parts[1]}"'
        return None
    if root in _NOT_RESOURCES or "_" not in root:
        return None
    key = f"{root}.{parts[0]}"
    return None if key in module.resources else f"{key} is not a declared resource"


def _check_tfvars(root: Path, modules: dict[Path, Module]) -> list[Finding]:
    findings: list[Finding] = []
    for path in _tf_files(root, ".tfvars"):
        rel = path.relative_to(root).as_posix()
        owner = path.parent.parent if path.parent.name == "environments" else path.parent
        module = modules.get(owner.resolve())
        try:
            doc = _parse(path.read_text(encoding="utf-8"))
        except Exception as exc:  # lark raises several unrelated exception types
            findings.append(Finding(rel, 0, f"does not parse: {_first_line(exc)}"))
            continue
        if module is None:
            findings.append(Finding(rel, 0, f"no .tf files in {owner.relative_to(root).as_posix() or '.'}"))
            continue
        for key in sorted(k for k in doc if k not in _LINE_KEYS and k not in module.variables):
            findings.append(Finding(rel, 0, f"{key} is not a variable of the root module"))
    return findings


# --------------------------------------------------------------------------------------------------- checkov


@dataclass(frozen=True)
class CheckResult:
    """One check of checkov on one resource."""

    check_id: str
    name: str
    resource: str
    file: str
    line: int
    reason: str = ""  # of a skip


@dataclass
class CheckovResult:
    passed: int
    failed: list[CheckResult]
    skipped: list[CheckResult]
    parsing_errors: list[str]
    resources: int
    version: str

    @property
    def ok(self) -> bool:
        return not self.failed and not self.parsing_errors


def find_checkov() -> str:
    """The checkov executable: next to this interpreter (the project's environment), else on PATH."""
    beside = Path(sys.executable).parent / ("checkov.cmd" if os.name == "nt" else "checkov")
    if beside.is_file():
        return str(beside)
    found = shutil.which("checkov")
    if found is None:
        raise PrerequisiteError(
            "checkov is not installed: stratus infra check runs it on the generated Terraform",
            hint="uv sync (checkov is in the dev dependency group), or pip install checkov",
        )
    return found


def run_checkov(root: Path, *, executable: str | None = None, timeout: float = 600) -> CheckovResult:
    """Run checkov on ``root`` offline (``--skip-download``, ``BC_SKIP_MAPPING``) and read its JSON report."""
    command = [
        executable or find_checkov(), "-d", str(root), "--framework", "terraform", "--skip-download",
        "--compact", "--output", "json",
    ]  # fmt: skip
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StratusError(
            f"checkov did not finish in {timeout:.0f} s", hint="run it by hand: " + " ".join(command)
        ) from exc
    if proc.returncode not in (0, 1):
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise StratusError(f"checkov failed (exit {proc.returncode}): {detail}", hint="run: " + " ".join(command))
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise StratusError("checkov printed no JSON report", hint="run: " + " ".join(command)) from exc
    return _read_report(report)


def _read_report(report: Any) -> CheckovResult:
    if isinstance(report, list):  # one report per framework
        report = next((r for r in report if r.get("check_type") == "terraform"), report[0] if report else {})
    summary = report.get("summary", report)
    results = report.get("results", {})

    def checks(kind: str) -> list[CheckResult]:
        out = []
        for item in results.get(kind, []):
            lines = item.get("file_line_range") or [0]
            suppress = item.get("check_result", {}).get("suppress_comment", "") or ""
            out.append(
                CheckResult(
                    item.get("check_id", ""),
                    item.get("check_name", ""),
                    item.get("resource", ""),
                    str(item.get("file_path", "")).lstrip("/"),
                    int(lines[0]),
                    suppress,
                )
            )
        return sorted(out, key=lambda c: (c.file, c.line, c.check_id, c.resource))

    errors = results.get("parsing_errors", [])  # the files checkov could not parse
    return CheckovResult(
        passed=int(summary.get("passed", 0)),
        failed=checks("failed_checks"),
        skipped=checks("skipped_checks"),
        parsing_errors=[str(e) for e in errors] if isinstance(errors, list) else [],
        resources=int(summary.get("resource_count", 0)),
        version=str(summary.get("checkov_version", "")),
    )
