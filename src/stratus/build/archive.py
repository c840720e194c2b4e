"""Deterministic zips: the same files give the same bytes, on any machine, at any time.

Entries are written in sorted order, each with the DOS epoch (1980-01-01 00:00:00) as its time, Unix as
its creating system, and a normalised mode (``0644``, or ``0755`` for a file with any execute bit): the
build machine's clock, umask and directory order leave no trace. No directory entries are written
(unzip and Lambda create directories from the file paths). The zip is written next to its final path
as ``<name>.tmp<pid>-<thread>`` and moved into place with :func:`os.replace`, so a reader never sees half a
zip and an interrupted build leaves no zip behind.

The writer is a small one of its own (PKZIP 2.0: deflate, no zip64, no data descriptors) rather than
:mod:`zipfile`, so that a file's compressed bytes can come from a :class:`DeflateCache`: the installed
dependencies never change once a layer is built, so each of their files is compressed once, not on
every build. Compression is raw deflate at level 6, each file on its own, so a cached entry and a fresh
one are the same bytes.

The zip's comment holds the build record (:class:`BuildInfo`, JSON): what was built, for what, and
whether bytecode is inside; ``stratus invoke --artifact`` reads it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import struct
import threading
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 6


@dataclass(frozen=True)
class BuildInfo:
    """What a zip is, kept in its comment."""

    service: str
    handler: str
    runtime: str
    arch: str
    bytecode: str | None  # "cpython-313" when .pyc files for that tag are inside
    inputs: str  # sha256 of everything the zip was built from
    handlers: tuple[str, ...] = field(default_factory=tuple)  # every entry point (HTTP, consumers, schedules)
    platform: str = ""  # the wheels' platform, e.g. aarch64-manylinux_2_34
    from_layers: tuple[str, ...] = field(default_factory=tuple)  # pins left out for AWS's layers: "pydantic==2.12.5"

    def to_comment(self) -> bytes:
        return json.dumps({"stratus": asdict(self)}, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_comment(cls, comment: bytes) -> BuildInfo | None:
        try:
            data = json.loads(comment.decode())["stratus"]
            data["handlers"] = tuple(data.get("handlers", ()))
            data["from_layers"] = tuple(data.get("from_layers", ()))
            return cls(**data)
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class Deflated:
    crc: int
    size: int
    data: bytes


def deflate(raw: bytes) -> Deflated:
    packer = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
    return Deflated(zlib.crc32(raw), len(raw), packer.compress(raw) + packer.flush())


class DeflateCache:
    """Compressed files under ``root`` (which never change once written), kept under ``store``."""

    _HEADER = struct.Struct("<II")

    def __init__(self, root: Path, store: Path) -> None:
        self.root = root
        self.store = store

    def get(self, source: Path) -> Deflated:
        cached = self.store / (source.relative_to(self.root).as_posix() + ".z")
        try:
            blob = cached.read_bytes()
        except FileNotFoundError:
            pass
        else:
            crc, size = self._HEADER.unpack_from(blob)
            return Deflated(crc, size, blob[self._HEADER.size :])
        entry = deflate(source.read_bytes())
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.tmp{os.getpid()}-{threading.get_ident()}")
        tmp.write_bytes(self._HEADER.pack(entry.crc, entry.size) + entry.data)
        tmp.replace(cached)
        return entry


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_DOS_DATE = (EPOCH[0] - 1980) << 9 | EPOCH[1] << 5 | EPOCH[2]  # 1980-01-01; the time is 00:00:00


def _headers(name: str, entry: Deflated, mode: int, offset: int) -> tuple[bytes, bytes]:
    """The local header and the central directory record of one deflated file."""
    encoded = name.encode()
    flags = 0 if encoded.isascii() else 0x800  # UTF-8 names
    common = (flags, 8, 0, _DOS_DATE, entry.crc, len(entry.data), entry.size, len(encoded))
    local = _LOCAL.pack(0x04034B50, 20, *common, 0) + encoded
    attributes = (stat.S_IFREG | mode) << 16
    record = _CENTRAL.pack(0x02014B50, 3 << 8 | 20, 20, *common, 0, 0, 0, 0, attributes, offset) + encoded
    return local, record


def write_zip(
    path: Path, entries: Iterable[tuple[str, Path]], *, comment: bytes = b"", cache: DeflateCache | None = None
) -> None:
    """Write ``entries`` (archive name, file on disk) to ``path`` deterministically and atomically.

    Files under ``cache.root`` take their compressed bytes from the cache.
    """
    ordered = sorted(entries)
    names = [name for name, _ in ordered]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"two files would land at the same place in the zip: {', '.join(duplicates[:5])}")
    if len(ordered) > 0xFFFF:
        raise ValueError(f"{len(ordered)} files is more than a zip without zip64 holds (65535)")
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    central: list[bytes] = []
    try:
        with tmp.open("wb") as out:
            for name, source in ordered:
                mode = 0o755 if source.stat().st_mode & 0o111 else 0o644
                if cache is not None and source.is_relative_to(cache.root):
                    entry = cache.get(source)
                else:
                    entry = deflate(source.read_bytes())
                offset = out.tell()
                if offset + len(entry.data) >= 0xFFFFFFFF:
                    raise ValueError("the zip would be over 4 GB")
                local, record = _headers(name, entry, mode, offset)
                out.write(local)
                out.write(entry.data)
                central.append(record)
            start = out.tell()
            for record in central:
                out.write(record)
            size = out.tell() - start
            out.write(_END.pack(0x06054B50, 0, 0, len(central), len(central), size, start, len(comment)) + comment)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def read_info(path: Path) -> BuildInfo | None:
    with zipfile.ZipFile(path) as zf:
        return BuildInfo.from_comment(zf.comment)


def extract(path: Path, dest: Path) -> None:
    """Unpack a zip keeping file modes, as Lambda does into /var/task."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ValueError(f"{path}: entry {info.filename!r} escapes the target directory")
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)


# --------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class SizeReport:
    """How big a zip is, and what makes it so."""

    path: Path
    zipped: int  # the zip file's size
    unzipped: int  # what Lambda unpacks (its limit: 250 MB)
    files: int
    pyc_files: int
    top: tuple[tuple[str, int, int], ...]  # (top-level name, zipped bytes, unzipped bytes), largest first
    sourceless: int = 0  # modules shipped as bytecode only (``pkg/mod.pyc`` without ``pkg/mod.py``)

    @classmethod
    def of(cls, path: Path, top: int = 8) -> SizeReport:
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        files = pyc = unzipped = sourceless = 0
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                files += 1
                if info.filename.endswith(".pyc"):
                    pyc += 1
                    sourceless += "__pycache__/" not in info.filename
                unzipped += info.file_size
                head = info.filename.split("/", 1)[0]
                if head.endswith(".dist-info"):
                    head = "*.dist-info"
                groups[head][0] += info.compress_size
                groups[head][1] += info.file_size
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return cls(
            path=path,
            zipped=path.stat().st_size,
            unzipped=unzipped,
            files=files,
            pyc_files=pyc,
            top=tuple((name, z, u) for name, (z, u) in ranked[:top]),
            sourceless=sourceless,
        )


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover
