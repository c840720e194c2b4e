"""Bytecode for the target Python, compiled by an interpreter of that exact minor version.

Lambda's code directory is read-only, so a zip without ``.pyc`` files makes every cold start compile
every module it imports (measured here: a FastAPI + Mangum app imports in 1.08 s instead of 0.32 s).
Bytecode is only valid for the minor version that wrote it (``cpython-313`` in the file name, a magic
number inside), and the marshal format and opcodes change between versions, so it cannot be produced by
another interpreter. :func:`find_interpreter` looks for one of the target version on this machine:
this interpreter, ``uv python find --no-python-downloads``, ``pythonX.Y`` on PATH, and pyenv's
versions directory; when none exists, the zip ships without bytecode and the build says so.

The files are compiled ``unchecked-hash`` (PEP 552): the interpreter loads them without comparing the
source's mtime, which a zip does not preserve anyway, and they hold no timestamp, so the same sources
always give the same bytes. Source paths inside them are rewritten to ``/var/task/...``, where Lambda
unpacks the zip, so tracebacks read as they will in AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stratus.build.targets import Target
from stratus.errors import StratusError

TASK_ROOT = "/var/task"
_PROBE = "import sys, platform; print(platform.python_version(), sys.implementation.cache_tag)"


@dataclass(frozen=True, slots=True)
class Interpreter:
    path: str
    version: tuple[int, int]
    cache_tag: str
    full_version: str  # 3.13.0: bytecode can differ between patch releases, so it is part of cache keys


def probe(path: str) -> Interpreter | None:
    """What ``path`` is, or None when it does not run."""
    try:
        proc = subprocess.run([path, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        version, tag = proc.stdout.split()
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        return None
    return Interpreter(path, (major, minor), tag, version)


def candidates(version: tuple[int, int]) -> Iterator[str]:
    """Where an interpreter of ``version`` may be, cheapest and most trusted first."""
    wanted = "{}.{}".format(*version)
    explicit = os.environ.get(f"STRATUS_PYTHON_{version[0]}_{version[1]}")
    if explicit:
        yield explicit
    if sys.version_info[:2] == version:
        yield sys.executable
    on_path = shutil.which(f"python{wanted}")
    if on_path and "/shims/" not in on_path:  # a pyenv shim fails unless that version is selected
        yield on_path
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        for home in sorted(pyenv.glob(f"{wanted}*"), reverse=True):
            yield str(home / "bin" / f"python{wanted}")
    uv = shutil.which("uv")
    if uv:  # uv's own installs (`uv python install 3.13`) and whatever else it knows of
        try:
            proc = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", "--no-project", wanted],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        if proc.returncode == 0 and proc.stdout.strip():
            yield proc.stdout.strip()


def find_interpreter(target: Target) -> Interpreter | None:
    """A CPython of the target's minor version on this machine, or None."""
    for path in dict.fromkeys(candidates(target.version)):
        found = probe(path)
        if found is not None and found.version == target.version and found.cache_tag == target.cache_tag:
            return found
    return None


def compile_tree(
    interpreter: Interpreter, root: Path, *, prefix: str = TASK_ROOT, workers: int = 0, strict: bool = True
) -> list[str]:
    """Write ``__pycache__/*.<tag>.pyc`` next to every ``.py`` under ``root``; paths inside read ``prefix/...``.

    ``workers`` is compileall's ``-j`` (0: one per CPU). Each file's bytecode depends only on its source,
    so parallel compilation gives the same bytes as a serial one (checked by the build's tests).
    Returns the files that did not compile; ``strict`` raises instead (the workspace's own code must
    compile; a dependency may carry files for other Python versions that it never imports).
    """
    argv = [
        interpreter.path,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        str(workers),
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(root),
        "-p",
        prefix,
        str(root),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    output = (proc.stdout + proc.stderr).strip()
    failed = [line.split("'")[1] for line in output.splitlines() if line.startswith("*** Error compiling '")]
    if proc.returncode != 0 and (strict or not failed):
        raise StratusError(
            f"compiling bytecode with {interpreter.path} failed:\n{output[-4000:]}",
            hint="a file that does not compile for the target Python is a bug to fix (or build with --no-bytecode)",
        )
    return failed


# Run by the target interpreter (its own ``ast`` parses its own syntax): from the handler modules, walk the
# imports that run at import time and compile what they reach. Printed: the reached files, as JSON.
_REACH = r"""
import ast, importlib.util, json, os, py_compile, sys

args = json.loads(sys.argv[1])
paths, prefix, compile_under = args["paths"], args["prefix"], args["compile"]
graph_file = args.get("graph")
try:
    with open(graph_file) as handle:
        graph = json.load(handle)  # file under compile_under -> the module names it imports
except (TypeError, OSError, ValueError):
    graph = {}
graph_size = len(graph)

def locate(name):
    parts = name.split(".")
    for base in paths:
        d = os.path.join(base, *parts)
        if os.path.isfile(os.path.join(d, "__init__.py")):
            return base, os.path.join(d, "__init__.py")
        if os.path.isfile(d + ".py"):
            return base, d + ".py"
        if os.path.isdir(d):
            return base, None  # a namespace package
    return None

def type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")

def relative(node, name, is_package):
    if not node.level:
        return node.module or ""
    package = name if is_package else name.rpartition(".")[0]
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))

BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")

def imports(tree, text, name, is_package):
    out = []
    # Statements only (imports are statements): walking every expression node is ten times slower.
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = relative(node, name, is_package)
            if module:
                out.append(module)
                out.extend(module + "." + alias.name for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.If) and type_checking(node.test):
            todo.extend(node.orelse)
        else:
            for field in BLOCKS:
                todo.extend(getattr(node, field, ()) or ())
    if b"import_module" in text or b"__import__" in text:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                value = node.args[0].value
                if called in ("import_module", "__import__") and isinstance(value, str) and not value.startswith("."):
                    out.append(value)
    return out

seen, files, todo = set(), set(), list(args["roots"])
while todo:
    name = todo.pop()
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        module = ".".join(parts[:i])
        if module in seen:
            continue
        seen.add(module)
        found = locate(module)
        if found is None or found[1] is None:
            continue
        base, file = found
        is_package = file.endswith("__init__.py")
        files.add(file)
        # Its package's other modules too: packages load siblings lazily (PEP 562 __getattr__, import maps).
        folder = os.path.dirname(file)
        package = module if is_package else module.rpartition(".")[0]
        if package:
            for entry in sorted(os.listdir(folder)):
                if entry.endswith(".py") and entry != "__init__.py":
                    todo.append(package + "." + entry[:-3])
        cached = graph.get(file)
        if cached is not None:
            todo.extend(cached)
            continue
        try:
            with open(file, "rb") as handle:
                text = handle.read()
            found_imports = imports(ast.parse(text, file), text, module, is_package)
        except (SyntaxError, ValueError):
            found_imports = []
        if any(file.startswith(root + os.sep) for root in compile_under):
            graph[file] = found_imports
        todo.extend(found_imports)

def compile_one(job):
    file, cfile, dfile = job
    try:
        py_compile.compile(file, cfile=cfile, dfile=dfile, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        return file
    return None

jobs = []
for file in sorted(files):
    root = next((root for root in compile_under if file.startswith(root + os.sep)), None)
    cfile = importlib.util.cache_from_source(file)
    if root is None or os.path.exists(cfile):
        continue
    jobs.append((file, cfile, prefix + "/" + os.path.relpath(file, root).replace(os.sep, "/")))
if len(jobs) > 32 and sys.platform == "linux":
    import multiprocessing
    with multiprocessing.get_context("fork").Pool() as pool:
        results = pool.map(compile_one, jobs, chunksize=16)
else:
    results = [compile_one(job) for job in jobs]
failed = [file for file in results if file]
if graph_file and len(graph) != graph_size:
    tmp = "%s.tmp%d" % (graph_file, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(graph, handle, sort_keys=True)
    os.replace(tmp, graph_file)
print(json.dumps({"files": sorted(files), "failed": failed}))
"""


@dataclass(frozen=True, slots=True)
class Reached:
    files: tuple[str, ...]  # every module file reached, absolute
    failed: tuple[str, ...]  # reached but not compilable for the target


def compile_reachable(
    interpreter: Interpreter, roots: list[str], paths: list[Path], compile_under: list[Path], *,
    prefix: str = TASK_ROOT, graph: Path | None = None,
) -> Reached:  # fmt: skip
    """Compile (once: existing ``.pyc`` files are kept) the modules that importing ``roots`` reaches.

    "Reaches" is read from the source by the target interpreter itself (its ``ast`` knows its syntax):
    every ``import`` statement (function bodies included: FastAPI imports ``pydantic.v1`` inside a function
    it calls while the app is built; ``if TYPE_CHECKING`` blocks excluded), ``importlib.import_module(
    "literal")``, and, since packages import their own modules lazily (PEP 562 ``__getattr__``, as pydantic
    does), every module beside a reached one. Subpackages nobody imports (most of aws-lambda-powertools)
    get none. What it misses is imported from source: slower, never wrong. Only files under
    ``compile_under`` are compiled; what they import is remembered in ``graph`` (a JSON file), since
    they never change, so a later build parses only the workspace's own code.
    """
    payload = json.dumps(
        {
            "paths": [str(p) for p in paths],
            "roots": roots,
            "prefix": prefix,
            "compile": [str(p) for p in compile_under],
            "graph": str(graph) if graph else None,
        }
    )
    proc = subprocess.run([interpreter.path, "-I", "-S", "-c", _REACH, payload], capture_output=True, text=True,
                          check=False)  # fmt: skip
    if proc.returncode != 0:
        raise StratusError(f"finding the modules to compile with {interpreter.path} failed:\n{proc.stderr[-4000:]}")
    data = json.loads(proc.stdout)
    return Reached(tuple(data["files"]), tuple(data["failed"]))
