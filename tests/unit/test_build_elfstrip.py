"""Shared libraries lose the sections a Lambda never loads, and still load and work.

The libraries are real: SQLAlchemy's Cython extensions, which its wheels ship with debug information, and
pydantic-core's, which ship stripped. They are stripped in a copy, then imported and used by a fresh interpreter.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pydantic_core
import pytest
import sqlalchemy

from stratus.build import elfstrip, slim

USE_SQLALCHEMY = """
import sqlalchemy
from sqlalchemy.engine import _row_cy, _result_cy
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

assert _row_cy.__file__.endswith(".so") and _result_cy.__file__.endswith(".so"), "not the compiled extension"


class Base(DeclarativeBase):
    pass


class Player(Base):
    __tablename__ = "players"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


engine = sqlalchemy.create_engine("sqlite://")
Base.metadata.create_all(engine)
with Session(engine) as session:
    session.add_all([Player(name=f"p{i}") for i in range(50)])
    session.commit()
    rows = session.execute(sqlalchemy.select(Player.id, Player.name).where(Player.id > 45)).all()
print(sqlalchemy.__file__)
print([tuple(row) for row in rows])
"""


def _loaded(data: bytes) -> list[bytes]:
    """The bytes of every PT_LOAD segment: what the dynamic loader maps, but for the ELF header's fields that
    say where the section headers are (the first segment maps the header; the loader reads no section)."""
    phoff, phentsize, phnum = struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)
    data = data[:40] + bytes(8) + data[48:60] + bytes(4) + data[64:]  # e_shoff; e_shnum, e_shstrndx
    out = []
    for i in range(phnum):
        kind, _, offset, _, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if kind == 1:
            out.append(data[offset : offset + filesz])
    return out


def _run(code: str, path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(path)!r})\n{code}"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def sqlalchemy_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(Path(sqlalchemy.__file__).parent, root / "sqlalchemy")
    return root


def test_sqlalchemys_extensions_lose_most_of_their_bytes_and_still_work(sqlalchemy_copy: Path) -> None:
    libraries = sorted((sqlalchemy_copy / "sqlalchemy").rglob("*.so"))
    assert libraries, "SQLAlchemy without its compiled extensions"
    before = {lib: lib.read_bytes() for lib in libraries}
    expected = _run(USE_SQLALCHEMY, sqlalchemy_copy).splitlines()[1]

    saved = sum(elfstrip.strip_file(lib) for lib in libraries)

    total = sum(len(data) for data in before.values())
    assert saved > total // 2  # debug information is most of them
    for lib, data in before.items():
        assert _loaded(lib.read_bytes()) == _loaded(data)  # not one loaded byte changed
    out = _run(USE_SQLALCHEMY, sqlalchemy_copy).splitlines()
    assert out[0].startswith(str(sqlalchemy_copy))  # the stripped copy, not the installed one
    assert out[1] == expected == str([(i, f"p{i - 1}") for i in range(46, 51)])


def test_stripping_is_deterministic_and_done_once(sqlalchemy_copy: Path) -> None:
    lib = next((Path(sqlalchemy.__file__).parent / "engine").glob("_row_cy*.so"))
    data = lib.read_bytes()
    once = elfstrip.stripped(data)
    assert once is not None and once == elfstrip.stripped(data)
    assert elfstrip.stripped(once) is None  # nothing left to remove


def test_a_library_shipped_stripped_is_left_loadable(tmp_path: Path) -> None:
    package = tmp_path / "pydantic_core"
    shutil.copytree(Path(pydantic_core.__file__).parent, package)
    (library,) = package.glob("_pydantic_core*.so")
    size = library.stat().st_size
    saved = elfstrip.strip_file(library)
    assert saved < size // 100  # only a note or a comment was left to remove
    use = "import pydantic_core; print(pydantic_core.SchemaValidator({'type': 'int'}).validate_json('7'))"
    out = _run(use, tmp_path)
    assert out.strip() == "7"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"#!/bin/sh\necho not a library\n",
        b"\x7fELF\x01\x01" + b"\0" * 58,  # 32-bit
        b"\x7fELF\x02\x02" + b"\0" * 58,  # big-endian
        b"\x7fELF\x02\x01" + b"\0" * 58,  # no section headers
    ],
)
def test_what_is_not_a_64_bit_little_endian_library_is_left_alone(tmp_path: Path, data: bytes) -> None:
    assert elfstrip.stripped(data) is None
    path = tmp_path / "lib.so"
    path.write_bytes(data)
    assert elfstrip.strip_file(path) == 0 and path.read_bytes() == data


def test_slimming_a_dependency_directory_strips_its_libraries_and_counts_them(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "sqlalchemy" / "engine").mkdir(parents=True)
    source = next((Path(sqlalchemy.__file__).parent / "engine").glob("_row_cy*.so"))
    target = site / "sqlalchemy" / "engine" / source.name
    shutil.copy(source, target)
    (site / "notes.so.txt").write_text("not a library")

    dropped = slim.slim_tree(site, site=True)

    assert dropped.stripped_files == 1
    assert dropped.stripped_bytes == source.stat().st_size - target.stat().st_size > 0
    assert (site / "notes.so.txt").read_text() == "not a library"
