"""Bytecode for the modules a handler reaches, compiled by an interpreter of the target's version."""

from __future__ import annotations

import importlib.util
import marshal
import sys
import textwrap
from pathlib import Path

import pytest

from stratus.build import bytecode
from stratus.build.targets import Target, host_target

HOST = host_target()
pytestmark = pytest.mark.skipif(HOST is None, reason="needs a Linux machine Lambda runs on")


@pytest.fixture
def interpreter():
    assert HOST is not None
    found = bytecode.find_interpreter(HOST)
    assert found is not None, "the running interpreter is always a candidate for its own version"
    return found


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def tree(tmp_path):
    stage, site = tmp_path / "stage", tmp_path / "site"
    _write(stage, {
        "app/__init__.py": "",
        "app/main.py": """
            import importlib
            import json
            from typing import TYPE_CHECKING
            from lib import thing
            if TYPE_CHECKING:
                import typeonly
            def handler(event, context):
                import lazy
                return importlib.import_module("dyn.mod")
            """,
    })  # fmt: skip
    _write(site, {
        "lib/__init__.py": "from . import sub\nthing = 1\n",
        "lib/sub.py": "X = 1\n",
        "lib/other.py": "Y = 2\n",  # never imported by name: a sibling of a reached module
        "lib/unused/__init__.py": "Z = 3\n",  # a subpackage nobody imports
        "lazy.py": "L = 1\n",
        "dyn/__init__.py": "",
        "dyn/mod.py": "D = 1\n",
        "typeonly.py": "T = 1\n",
        "stranger.py": "S = 1\n",
    })  # fmt: skip
    return stage, site


def _pyc(path):
    return importlib.util.cache_from_source(str(path)).replace(sys.implementation.cache_tag, HOST.cache_tag)


def test_the_modules_a_handler_reaches_are_compiled_and_no_others(tree, interpreter):
    stage, site = tree
    reached = bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site])
    relative = sorted(path.removeprefix(str(site) + "/") for path in reached.files if path.startswith(str(site)))
    # lib.sub through "from . import sub", lazy from a function body, dyn.mod from import_module("..."),
    # lib.other beside a reached module; not typeonly (TYPE_CHECKING), lib.unused, stranger, json (stdlib)
    assert relative == ["dyn/__init__.py", "dyn/mod.py", "lazy.py", "lib/__init__.py", "lib/other.py", "lib/sub.py"]
    compiled = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.pyc"))
    assert len(compiled) == len(relative)
    assert not (site / "typeonly.py").with_name("__pycache__").joinpath(f"typeonly.{HOST.cache_tag}.pyc").exists()
    assert reached.failed == ()


def test_pycs_are_unchecked_hash_name_var_task_and_are_reproducible(tree, interpreter):
    stage, site = tree
    bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site])
    pyc = _pyc(site / "lib" / "sub.py")
    data = Path(pyc).read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552: hash-based, source never checked
    code = marshal.loads(data[16:])
    assert code.co_filename == "/var/task/lib/sub.py"
    for file in site.rglob("*.pyc"):
        file.unlink()
    bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site])
    assert Path(pyc).read_bytes() == data


def test_a_reached_module_that_does_not_compile_is_reported_not_fatal(tree, interpreter):
    stage, site = tree
    (site / "lazy.py").write_text("def broken(:\n")
    reached = bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site])
    assert reached.failed == (str(site / "lazy.py"),)
    assert (site / "lib" / "__pycache__").is_dir()


def test_the_import_graph_of_cached_files_is_remembered(tree, interpreter, tmp_path):
    stage, site = tree
    graph = tmp_path / "imports.json"
    bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site], graph=graph)
    assert str(site / "lib" / "__init__.py") in graph.read_text()
    # the layer never changes, so its files are not parsed again: the remembered imports are used
    (site / "lib" / "__init__.py").write_text("thing = 1\n")
    for file in site.rglob("*.pyc"):
        file.unlink()
    reached = bytecode.compile_reachable(interpreter, ["app.main"], [stage, site], [site], graph=graph)
    assert str(site / "lib" / "sub.py") in reached.files


def test_the_strict_compile_of_workspace_code_fails_on_a_syntax_error(tmp_path, interpreter):
    _write(tmp_path, {"svc/__init__.py": "", "svc/bad.py": "def f(:\n"})
    with pytest.raises(Exception, match="compiling bytecode"):
        bytecode.compile_tree(interpreter, tmp_path, strict=True)


def test_interpreters_are_found_by_version_and_an_explicit_one_wins(monkeypatch):
    assert HOST is not None
    monkeypatch.setenv(f"STRATUS_PYTHON_{HOST.version[0]}_{HOST.version[1]}", sys.executable)
    assert next(bytecode.candidates(HOST.version)) == sys.executable
    assert bytecode.probe("/nonexistent/python") is None
    other = Target("python3.12" if HOST.runtime != "python3.12" else "python3.13", HOST.arch)
    found = bytecode.find_interpreter(other)
    assert found is None or found.version == other.version
