"""Strip a shared library's sections that are never loaded: what ``strip --strip-all`` does to a ``.so``.

Some wheels ship their compiled extensions with debug information and static symbol tables (SQLAlchemy's
Cython modules: 2.2 MB for ``_result_cy``, 0.25 MB of it code). Those sections have no ``SHF_ALLOC`` flag: the
dynamic loader maps only the ``PT_LOAD`` segments, so a Lambda never reads them. Removing them changes no byte
that is loaded. This is done in Python rather than with ``strip``, because the build machine's ``strip`` reads
only its own architecture (an x86_64 ``strip`` refuses an arm64 library) and because a build must give the same
bytes on every machine.

The file is rewritten as: its bytes up to the end of the last loaded part (every segment and every allocated
section, untouched), then the section names table, then a section header table without the removed sections.
A library is left as it is unless it is a 64-bit little-endian ELF (every Lambda architecture) whose removable
sections all come after the sections it keeps, in index order (as linkers lay them out): the indices the
dynamic symbols refer to stay valid. No kept section may refer to a removed one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
_SECTION = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
_PROGRAM = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
_SHF_ALLOC = 0x2
_SHF_INFO_LINK = 0x40
_SHT_NOBITS = 8
_SHT_STRTAB = 3


@dataclass(frozen=True, slots=True)
class _Section:
    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    entsize: int


def stripped(data: bytes) -> bytes | None:
    """``data`` without its unallocated sections (the section names table excepted); None when there is
    nothing to remove or the layout is not one this handles (see the module's docstring)."""
    if len(data) < _ELF_HEADER.size or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None  # not ELF, not 64-bit, or not little-endian
    header = list(_ELF_HEADER.unpack_from(data))
    phoff, shoff = header[5], header[6]
    phentsize, phnum, shentsize, shnum, shstrndx = header[9], header[10], header[11], header[12], header[13]
    if shoff == 0 or shnum == 0 or shentsize != _SECTION.size or phentsize not in (0, _PROGRAM.size):
        return None
    if shoff + shnum * shentsize > len(data) or not 0 < shstrndx < shnum:
        return None
    sections = [_Section(*_SECTION.unpack_from(data, shoff + i * shentsize)) for i in range(shnum)]
    keep = [i for i, s in enumerate(sections) if i == 0 or i == shstrndx or s.flags & _SHF_ALLOC]
    removed = [i for i in range(shnum) if i not in keep]
    if not removed or sections[shstrndx].type != _SHT_STRTAB:
        return None
    allocated = [i for i in keep if i not in (0, shstrndx)]
    if allocated and min(removed) < max(allocated):
        return None  # a removed section sits between kept ones: indices would shift
    loaded_end = max(phoff + phnum * phentsize, _ELF_HEADER.size)
    for i in range(phnum):
        segment = _PROGRAM.unpack_from(data, phoff + i * phentsize)
        loaded_end = max(loaded_end, segment[2] + segment[5])  # p_offset + p_filesz
    for i in allocated:
        section = sections[i]
        if section.type != _SHT_NOBITS:
            loaded_end = max(loaded_end, section.offset + section.size)
    if loaded_end > len(data):
        return None
    names = sections[shstrndx]
    out = bytearray(data[:loaded_end])
    names_offset = len(out)
    out += data[names.offset : names.offset + names.size]
    out += b"\0" * (-len(out) % 8)
    table_offset = len(out)
    index = {old: new for new, old in enumerate(keep)}
    links = [(s.link, s.info if s.flags & _SHF_INFO_LINK else 0) for s in (sections[i] for i in keep)]
    if any(target and target not in index for pair in links for target in pair):
        return None  # a kept section refers to one that would go
    for old in keep:
        section = sections[old]
        link = index[section.link] if section.link else 0
        info = index[section.info] if section.flags & _SHF_INFO_LINK and section.info else section.info
        offset = names_offset if old == shstrndx else section.offset
        out += _SECTION.pack(
            section.name, section.type, section.flags, section.addr, offset, section.size, link, info,
            section.align, section.entsize,
        )  # fmt: skip
    header[6], header[12], header[13] = table_offset, len(keep), index[shstrndx]
    out[: _ELF_HEADER.size] = _ELF_HEADER.pack(*header)
    return bytes(out)


def strip_file(path: Path) -> int:
    """Strip ``path`` in place if that saves anything; the bytes saved (0: left as it was)."""
    data = path.read_bytes()
    smaller = stripped(data)
    if smaller is None or len(smaller) >= len(data):
        return 0
    path.write_bytes(smaller)
    return len(data) - len(smaller)
