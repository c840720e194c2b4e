"""Deterministic, atomic zips and their build record."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from stratus.build.archive import BuildInfo, DeflateCache, SizeReport, extract, read_info, write_zip


def _files(root: Path, order: list[str]) -> list[tuple[str, Path]]:
    contents = {"pkg/__init__.py": b"", "pkg/mod.py": b"X = 1\n", "pkg/_ext.so": b"\x7fELF...", "top.py": b"y=2\n"}
    out = []
    for name in order:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[name])
        out.append((name, path))
    return out


def test_same_files_give_the_same_bytes_whatever_the_mtimes_order_and_modes(tmp_path):
    # GIVEN the same files written twice, in another order, at other times, with other modes
    first = _files(tmp_path / "a", ["pkg/__init__.py", "pkg/mod.py", "pkg/_ext.so", "top.py"])
    second = _files(tmp_path / "b", ["top.py", "pkg/_ext.so", "pkg/mod.py", "pkg/__init__.py"])
    for _, path in second:
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o600)
    (tmp_path / "a" / "pkg/_ext.so").chmod(0o755)
    (tmp_path / "b" / "pkg/_ext.so").chmod(0o700)
    # WHEN both are zipped
    write_zip(tmp_path / "one.zip", first, comment=b"c")
    write_zip(tmp_path / "two.zip", reversed(second), comment=b"c")
    # THEN the zips are byte-identical: sorted, 1980 timestamps, modes normalised
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["pkg/__init__.py", "pkg/_ext.so", "pkg/mod.py", "top.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes == {"pkg/__init__.py": 0o644, "pkg/_ext.so": 0o755, "pkg/mod.py": 0o644, "top.py": 0o644}


def test_zips_are_valid_for_zipfile_and_names_may_be_utf8(tmp_path):
    entries = _files(tmp_path, ["pkg/__init__.py", "pkg/mod.py"])
    (tmp_path / "données.txt").write_text("é")
    entries.append(("pkg/données.txt", tmp_path / "données.txt"))
    write_zip(tmp_path / "x.zip", entries, comment=b"note")
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        assert zf.testzip() is None  # every CRC checks out
        assert zf.read("pkg/données.txt") == "é".encode()
        assert zf.read("pkg/mod.py") == b"X = 1\n"
        assert zf.comment == b"note"
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


def test_compressed_bytes_from_the_cache_give_the_same_zip(tmp_path):
    entries = _files(tmp_path / "site", ["pkg/__init__.py", "pkg/mod.py", "top.py"])
    write_zip(tmp_path / "plain.zip", entries)
    cache = DeflateCache(tmp_path / "site", tmp_path / "deflated")
    write_zip(tmp_path / "filling.zip", entries, cache=cache)
    assert (tmp_path / "deflated" / "pkg" / "mod.py.z").exists()
    (tmp_path / "site" / "pkg" / "mod.py").write_text("changed, but layers never change: the cache wins\n")
    write_zip(tmp_path / "cached.zip", entries, cache=cache)
    assert (tmp_path / "plain.zip").read_bytes() == (tmp_path / "filling.zip").read_bytes()
    assert (tmp_path / "cached.zip").read_bytes() == (tmp_path / "plain.zip").read_bytes()


def test_a_failed_write_leaves_neither_a_zip_nor_a_temporary_file(tmp_path):
    entries = _files(tmp_path / "src", ["pkg/mod.py"])
    entries.append(("pkg/missing.py", tmp_path / "src" / "pkg" / "missing.py"))  # cannot be read
    with pytest.raises(FileNotFoundError):
        write_zip(tmp_path / "out" / "x.zip", entries)
    assert list((tmp_path / "out").iterdir()) == []


def test_an_existing_zip_is_replaced_only_once_the_new_one_is_complete(tmp_path):
    target = tmp_path / "x.zip"
    write_zip(target, _files(tmp_path / "a", ["top.py"]))
    before = target.read_bytes()
    with pytest.raises(FileNotFoundError):
        write_zip(target, [("gone.py", tmp_path / "nope.py")])
    assert target.read_bytes() == before


def test_two_files_at_the_same_archive_name_are_refused(tmp_path):
    entries = _files(tmp_path, ["top.py"])
    with pytest.raises(ValueError, match="same place"):
        write_zip(tmp_path / "x.zip", entries + entries)


def test_the_build_record_travels_in_the_zip_comment(tmp_path):
    info = BuildInfo("worker", "worker.main.handler", "python3.13", "arm64", "cpython-313", "ab" * 32,
                     ("worker.main.handler", "worker.consumer.handler"))  # fmt: skip
    write_zip(tmp_path / "x.zip", _files(tmp_path, ["top.py"]), comment=info.to_comment())
    assert read_info(tmp_path / "x.zip") == info
    assert BuildInfo.from_comment(b"not json") is None


def test_extract_keeps_modes_and_refuses_paths_outside_the_target(tmp_path):
    entries = _files(tmp_path / "src", ["pkg/_ext.so", "top.py"])
    (tmp_path / "src" / "pkg" / "_ext.so").chmod(0o755)
    write_zip(tmp_path / "x.zip", entries)
    extract(tmp_path / "x.zip", tmp_path / "task")
    assert stat.S_IMODE((tmp_path / "task" / "pkg" / "_ext.so").stat().st_mode) == 0o755
    assert (tmp_path / "task" / "top.py").read_bytes() == b"y=2\n"

    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../escaped.py", "x")
    with pytest.raises(ValueError, match="escapes"):
        extract(tmp_path / "evil.zip", tmp_path / "task2")
    assert not (tmp_path / "escaped.py").exists()


def test_size_report_groups_by_top_level_name(tmp_path):
    write_zip(tmp_path / "x.zip", _files(tmp_path, ["pkg/__init__.py", "pkg/mod.py", "top.py"]))
    report = SizeReport.of(tmp_path / "x.zip")
    assert report.files == 3
    assert report.unzipped == len(b"X = 1\n") + len(b"y=2\n")
    assert {name for name, _, _ in report.top} == {"pkg", "top.py"}
    assert report.zipped == (tmp_path / "x.zip").stat().st_size
