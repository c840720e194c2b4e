"""What a zip leaves out of installed packages, and the targets it is built for."""

from __future__ import annotations

import pytest

from stratus.build.slim import slim_tree, source_files
from stratus.build.targets import Target, arch_of_machine, parse_arch
from stratus.errors import StratusError


def _tree(root, files):
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_slimming_drops_what_never_runs_and_keeps_what_code_reads(tmp_path):
    kept = [
        "pkg/__init__.py",
        "pkg/data/schema.json",
        "pkg/docs/generated.py",  # a docs directory with code in it stays, whole
        "pkg/docs/index.html",
        "pkg/_native.cpython-313-aarch64-linux-gnu.so",
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/entry_points.txt",
        "pkg-1.0.dist-info/licenses/LICENSE",
        "pkg-1.0.dist-info/WHEEL",
    ]
    dropped = [
        "bin/pkg-cli",
        "pkg/__pycache__/mod.cpython-311.pyc",
        "pkg/tests/test_mod.py",
        "pkg/sub/test/__init__.py",
        "pkg/mod.pyi",
        "pkg/py.typed",
        "pkg/_native.c",
        "pkg/_native.pyx",
        "pkg/include/header.h",
        "pkg/examples/readme.txt",  # no code: documentation only
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.dist-info/INSTALLER",
        "pkg-1.0.dist-info/REQUESTED",
        "pkg-1.0.dist-info/direct_url.json",
    ]
    _tree(tmp_path, kept + dropped)
    result = slim_tree(tmp_path, site=True)
    remaining = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert remaining == sorted(kept)
    assert result.files == len(dropped)
    assert result.bytes == result.files  # one byte each


def test_workspace_sources_skip_caches_tests_and_hidden_files_without_deleting_them(tmp_path):
    _tree(tmp_path, ["svc/__init__.py", "svc/main.py", "svc/static/app.js", "svc/__pycache__/main.cpython-311.pyc",
                     "svc/tests/test_main.py", "svc/.DS_Store", "svc/.hidden/x.py"])  # fmt: skip
    files = [p.relative_to(tmp_path).as_posix() for p in source_files(tmp_path / "svc")]
    assert files == ["svc/__init__.py", "svc/main.py", "svc/static/app.js"]
    assert (tmp_path / "svc/tests/test_main.py").exists()


@pytest.mark.parametrize(
    ("runtime", "arch", "platform", "tag"),
    [
        ("python3.13", "arm64", "aarch64-manylinux_2_34", "cpython-313"),
        ("python3.12", "x86_64", "x86_64-manylinux_2_34", "cpython-312"),
        ("python3.11", "arm64", "aarch64-manylinux_2_17", "cpython-311"),  # Amazon Linux 2: glibc 2.26
    ],
)
def test_targets_map_to_uv_platforms_for_the_runtime_glibc(runtime, arch, platform, tag):
    target = Target(runtime, arch)
    assert target.uv_platform == platform
    assert target.cache_tag == tag
    assert target.python_version == runtime.removeprefix("python")


def test_a_zip_for_this_machine_targets_its_glibc_not_amazon_linux():
    target = Target("python3.11", "x86_64", (2, 36))
    assert target.uv_platform == "x86_64-manylinux_2_36"
    assert str(target) == "python3.11/x86_64 (for this machine, glibc 2.36)"


def test_unknown_runtimes_and_architectures_are_refused():
    with pytest.raises(StratusError, match=r"unknown Lambda runtime 'python3\.9'"):
        Target("python3.9", "arm64")
    with pytest.raises(StratusError, match="unknown architecture 'mips'"):
        parse_arch("mips")
    assert parse_arch("x86_64") == "x86_64"
    assert arch_of_machine("aarch64") == "arm64"
    assert arch_of_machine("AMD64") == "x86_64"
    assert arch_of_machine("riscv64") is None
