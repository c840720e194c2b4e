"""What a Lambda zip is built for: a runtime (``python3.13``) on an architecture (``arm64``).

The wheels must match the runtime's Python and the glibc of the Amazon Linux it runs on, or the zip
imports on a laptop and fails in Lambda:

- python3.12 and later run on Amazon Linux 2023, glibc 2.34: ``manylinux_2_34`` and older tags;
- python3.11 runs on Amazon Linux 2, glibc 2.26: uv knows no ``manylinux_2_26``, so ``manylinux_2_17``
  (manylinux2014), the newest tag uv offers below 2.26 (a wheel published only for 2_24/2_26 cannot be
  selected for it).

A zip built to run on *this* machine (``stratus invoke --build``, the boot tests) targets this machine's
glibc instead (:func:`host_target`): it never goes to AWS.

The glibc matters in practice: psycopg-binary >= 3.3 ships no ``manylinux2014_aarch64`` wheel, and a
resolver targeting manylinux2014 on aarch64 silently falls back to psycopg 3.2 (shared/reference/
feasibility.md §5).
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from typing import Literal

from stratus.errors import StratusError

Arch = Literal["arm64", "x86_64"]
ARCHES: tuple[Arch, ...] = ("arm64", "x86_64")
RUNTIMES: dict[str, tuple[int, int]] = {
    "python3.11": (3, 11),
    "python3.12": (3, 12),
    "python3.13": (3, 13),
    "python3.14": (3, 14),
}
# The glibc of the Amazon Linux each runtime runs on, as the manylinux tag uv resolves for.
_GLIBC: dict[str, tuple[int, int]] = {
    "python3.11": (2, 17),  # Amazon Linux 2 has glibc 2.26; uv's nearest tag below it is 2_17
    "python3.12": (2, 34),
    "python3.13": (2, 34),
    "python3.14": (2, 34),
}
_MACHINES: dict[Arch, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
# The glibc versions uv's --python-platform can name (manylinux_2_17, then 2_28 and 2_31 ... 2_40).
UV_GLIBC: tuple[tuple[int, int], ...] = ((2, 17), (2, 28), *((2, minor) for minor in range(31, 41)))


@dataclass(frozen=True, slots=True)
class Target:
    """A Lambda runtime on an architecture."""

    runtime: str
    arch: Arch
    glibc_override: tuple[int, int] | None = None  # a machine other than Lambda's (see host_target)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise StratusError(
                f"unknown Lambda runtime {self.runtime!r}",
                hint=f"use one of {', '.join(RUNTIMES)}",
            )
        if self.arch not in ARCHES:
            raise StratusError(f"unknown architecture {self.arch!r}", hint="use arm64 or x86_64")

    @property
    def version(self) -> tuple[int, int]:
        return RUNTIMES[self.runtime]

    @property
    def python_version(self) -> str:
        """``3.13``: what uv's ``--python-version`` takes."""
        return "{}.{}".format(*self.version)

    @property
    def cache_tag(self) -> str:
        """``cpython-313``: the tag in ``__pycache__/*.cpython-313.pyc`` names."""
        return "cpython-{}{}".format(*self.version)

    @property
    def machine(self) -> str:
        """``aarch64`` / ``x86_64``: what ``uname -m`` says in the Lambda sandbox."""
        return _MACHINES[self.arch]

    @property
    def glibc(self) -> tuple[int, int]:
        return self.glibc_override or _GLIBC[self.runtime]

    @property
    def uv_platform(self) -> str:
        """``aarch64-manylinux_2_34``: what uv's ``--python-platform`` takes."""
        major, minor = self.glibc
        return f"{self.machine}-manylinux_{major}_{minor}"

    def __str__(self) -> str:
        here = " (for this machine, glibc {}.{})".format(*self.glibc_override) if self.glibc_override else ""
        return f"{self.runtime}/{self.arch}{here}"


def arch_of_machine(machine: str) -> Arch | None:
    """The Lambda architecture a ``uname -m`` value runs, or None (Lambda has no such machine)."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return None


def host_glibc() -> tuple[int, int] | None:
    """The newest glibc uv can target that this machine's glibc runs."""
    library, version = platform.libc_ver()
    if library != "glibc" or not version:
        return None
    found = tuple(int(part) for part in version.split(".")[:2])
    usable = [v for v in UV_GLIBC if v <= found]
    return usable[-1] if usable else None


def host_target() -> Target | None:
    """This machine as a target (the local interpreter's version, this CPU, this glibc), if Lambda has it."""
    arch = arch_of_machine(platform.machine())
    runtime = "python{}.{}".format(*sys.version_info[:2])
    glibc = host_glibc()
    if arch is None or runtime not in RUNTIMES or not sys.platform.startswith("linux") or glibc is None:
        return None
    return Target(runtime, arch, glibc)


def parse_arch(value: str) -> Arch:
    for arch in ARCHES:
        if value == arch:
            return arch
    raise StratusError(f"unknown architecture {value!r}", hint="use arm64 or x86_64")
