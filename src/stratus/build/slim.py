"""What a zip leaves out of the installed packages, and why each rule is safe.

Dropped everywhere (dependencies and the workspace's own packages):

- ``__pycache__`` and stray ``*.pyc``/``*.pyo``: bytecode is compiled afresh for the target, or not shipped;
- ``tests``/``test`` package directories: never imported by the code that ships them;
- type-checking only files: ``*.pyi`` stubs and ``py.typed`` markers;
- C/Cython sources and headers (``*.c``, ``*.h``, ``*.pyx``, ``*.pxd``...): the compiled ``.so`` ships;
- ``docs``/``doc``/``examples`` directories that hold no Python code.

Dropped from the dependency directory only:

- ``bin/`` (console scripts with a ``#!`` of the build machine; Lambda runs none);
- in ``*.dist-info``: ``RECORD`` (the installer's file list, wrong once files are dropped), ``INSTALLER``,
  ``REQUESTED``, ``direct_url.json``. ``METADATA`` (``importlib.metadata.version()``), ``entry_points.txt``
  (plugin discovery, e.g. opentelemetry), ``top_level.txt``, ``WHEEL`` and the licence files stay.

Stripped in the dependency directory: shared libraries' sections that are never loaded (debug information,
static symbol tables; :mod:`stratus.build.elfstrip`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from stratus.build import elfstrip

DROP_DIRS = frozenset({"__pycache__", "tests", "test"})
DOC_DIRS = frozenset({"docs", "doc", "examples"})
DROP_SUFFIXES = (".pyc", ".pyo", ".pyi", ".c", ".h", ".cc", ".cpp", ".hpp", ".pyx", ".pxd", ".pxi")
DROP_FILES = frozenset({"py.typed", ".DS_Store"})
DIST_INFO_DROP = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "uv_cache.json"})


@dataclass
class Slimmed:
    files: int = 0
    bytes: int = 0
    stripped_files: int = 0  # shared libraries stripped of sections never loaded
    stripped_bytes: int = 0

    def add(self, path: Path) -> None:
        self.files += 1
        self.bytes += path.stat().st_size


def keep_file(name: str) -> bool:
    return name not in DROP_FILES and not name.endswith(DROP_SUFFIXES) and not name.startswith(".")


def keep_dir(path: Path) -> bool:
    if path.name in DROP_DIRS or path.name.startswith("."):
        return False
    if path.name in DOC_DIRS:
        return any(p.suffix == ".py" for p in path.rglob("*.py"))
    return True


def slim_tree(root: Path, *, site: bool) -> Slimmed:
    """Delete what the rules above drop from ``root``, in place; ``site`` for an installed dependency dir."""
    dropped = Slimmed()
    if site and (root / "bin").is_dir():
        _remove(root / "bin", dropped)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in list(dirnames):
            if not keep_dir(here / name):
                _remove(here / name, dropped)
                dirnames.remove(name)
        in_dist_info = site and here.name.endswith(".dist-info")
        for name in filenames:
            if not keep_file(name) or (in_dist_info and name in DIST_INFO_DROP):
                _remove(here / name, dropped)
            elif site and _shared_library(name):
                saved = elfstrip.strip_file(here / name)
                if saved:
                    dropped.stripped_files += 1
                    dropped.stripped_bytes += saved
    return dropped


def _shared_library(name: str) -> bool:
    """``mod.cpython-313-aarch64-linux-gnu.so``, or a bundled ``libpq-9b2e.so.5.16`` (``pkg.libs/``)."""
    return name.endswith(".so") or ".so." in name


def source_files(package: Path) -> list[Path]:
    """The files of a workspace package that ship, sorted, by the same rules (nothing is deleted)."""
    if package.is_file():
        return [package]
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(package):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if keep_dir(here / d))
        out.extend(here / f for f in sorted(filenames) if keep_file(f))
    return out


def _remove(path: Path, dropped: Slimmed) -> None:
    if path.is_dir() and not path.is_symlink():
        for file in path.rglob("*"):
            if file.is_file():
                dropped.add(file)
        shutil.rmtree(path)
    else:
        dropped.add(path)
        path.unlink()
