"""What a zip needs, read from uv.lock: the pruned dependency graph and the wheel check."""

from __future__ import annotations

import textwrap

import pytest

from stratus.build.targets import Target
from stratus.build.workspace import Lock, Requirement, Resolution, check_wheels, member_sources, parse_requirements
from stratus.errors import StratusError

PYPI = 'source = { registry = "https://pypi.org/simple" }'


def _wheel(name: str) -> str:
    return f'{{ url = "https://files.pythonhosted.org/packages/aa/bb/{name}", hash = "sha256:00", size = 1 }}'


LOCK = textwrap.dedent(
    f"""
    version = 1
    requires-python = ">=3.11"

    [manifest]
    members = ["lib", "svc"]

    [[package]]
    name = "svc"
    version = "0.1.0"
    source = {{ editable = "services/svc" }}
    dependencies = [{{ name = "lib" }}, {{ name = "boto3" }}, {{ name = "uvicorn", extra = ["standard"] }}]

    [[package]]
    name = "lib"
    version = "0.1.0"
    source = {{ editable = "libs/lib" }}
    dependencies = [{{ name = "aws-lambda-powertools" }}]

    [[package]]
    name = "aws-lambda-powertools"
    version = "3.0.0"
    {PYPI}
    dependencies = [{{ name = "jmespath" }}]
    wheels = [{_wheel("aws_lambda_powertools-3.0.0-py3-none-any.whl")}]

    [[package]]
    name = "boto3"
    version = "1.35.0"
    {PYPI}
    dependencies = [{{ name = "botocore" }}, {{ name = "jmespath" }}, {{ name = "s3transfer" }}]

    [[package]]
    name = "botocore"
    version = "1.35.0"
    {PYPI}
    dependencies = [{{ name = "jmespath" }}, {{ name = "python-dateutil" }}, {{ name = "urllib3" }}]

    [[package]]
    name = "python-dateutil"
    version = "2.9.0"
    {PYPI}
    dependencies = [{{ name = "six" }}]

    [[package]]
    name = "uvicorn"
    version = "0.30.0"
    {PYPI}
    wheels = [{_wheel("uvicorn-0.30.0-py3-none-any.whl")}]

    [package.optional-dependencies]
    standard = [{{ name = "httptools" }}]

    [[package]]
    name = "psycopg-binary"
    version = "3.3.9"
    {PYPI}
    wheels = [
        {_wheel("psycopg_binary-3.3.9-cp313-cp313-manylinux_2_28_aarch64.whl")},
        {_wheel("psycopg_binary-3.3.9-cp311-cp311-manylinux_2_28_aarch64.whl")},
        {_wheel("psycopg_binary-3.3.9-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")},
    ]

    [[package]]
    name = "pydantic-core"
    version = "2.50.4"
    {PYPI}
    wheels = [
        {_wheel("pydantic_core-2.50.4-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")},
        {_wheel("pydantic_core-2.50.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")},
    ]

    [[package]]
    name = "legacy"
    version = "1.0"
    {PYPI}
    sdist = {{ url = "https://files.pythonhosted.org/packages/aa/bb/legacy-1.0.tar.gz", hash = "sha256:00", size = 1 }}

    [[package]]
    name = "pywin32"
    version = "306"
    {PYPI}
    wheels = [{_wheel("pywin32-306-cp313-cp313-win_amd64.whl")}]

    [[package]]
    name = "abi3pkg"
    version = "1.0"
    {PYPI}
    wheels = [{_wheel("abi3pkg-1.0-cp39-abi3-manylinux_2_17_aarch64.whl")}]
    """
)


@pytest.fixture
def lock(tmp_path):
    (tmp_path / "uv.lock").write_text(LOCK)
    return Lock(tmp_path)


def test_the_runtime_provided_packages_are_pruned_with_what_only_they_need(lock):
    needed, reached = lock.walk("svc", {"boto3", "botocore"})
    # boto3's own dependencies go with it, except jmespath, which powertools needs too
    assert needed == {"svc", "lib", "aws-lambda-powertools", "jmespath", "uvicorn", "httptools"}
    assert reached == {"boto3"}  # botocore is behind boto3: never reached
    assert lock.members == {"lib", "svc"}
    assert lock.member_root("lib") == (lock.root / "libs" / "lib").resolve()


def test_nothing_is_pruned_when_nothing_is_provided(lock):
    needed, _ = lock.walk("svc", set())
    assert {"boto3", "botocore", "s3transfer", "python-dateutil", "six", "urllib3"} <= needed


def test_exported_lines_are_read_with_their_markers():
    text = (
        "# header\nfastapi==0.165.0\nPyWin32==306 ; sys_platform == 'win32'\n-e ./libs/lib\n\nuvicorn[standard]==0.30\n"
    )
    parsed = parse_requirements(text)
    assert [(r.name, r.version, r.marker) for r in parsed] == [
        ("fastapi", "0.165.0", None),
        ("pywin32", "306", "sys_platform == 'win32'"),
        ("uvicorn", "0.30", None),
    ]


def _resolution(*lines: str) -> Resolution:
    return Resolution("svc", tuple(parse_requirements("\n".join(lines))), (), ())


def test_every_dependency_without_a_wheel_for_the_target_is_named_in_one_error(lock):
    resolution = _resolution(
        "psycopg-binary==3.3.9",
        "pydantic-core==2.50.4",
        "legacy==1.0",
        "pywin32==306 ; sys_platform == 'win32'",  # not installed on Linux: not a problem
        "abi3pkg==1.0",
    )
    # arm64 on python3.11 means Amazon Linux 2: manylinux2014, where psycopg-binary 3.3 has no aarch64 wheel
    with pytest.raises(StratusError) as caught:
        check_wheels(resolution, Target("python3.11", "arm64"), lock)
    message = caught.value.message
    assert "2 dependencies have no wheel for python3.11/arm64 (aarch64-manylinux_2_17)" in message
    assert "psycopg-binary==3.3.9: no wheel for python3.11 on arm64" in message
    assert "legacy==1.0: no wheel at all (source only)" in message
    assert "pydantic-core" not in message and "pywin32" not in message and "abi3pkg" not in message


def test_glibc_2_34_targets_accept_manylinux_2_28_wheels(lock):
    resolution = _resolution("psycopg-binary==3.3.9", "pydantic-core==2.50.4", "abi3pkg==1.0")
    check_wheels(resolution, Target("python3.13", "arm64"), lock)  # no error


def test_a_wheel_for_another_python_is_not_taken(lock):
    resolution = _resolution("psycopg-binary==3.3.9")
    with pytest.raises(StratusError, match=r"psycopg-binary==3\.3\.9: no wheel for python3\.12 on arm64"):
        check_wheels(resolution, Target("python3.12", "arm64"), lock)


def test_requirement_lines_round_trip_into_the_install_list():
    resolution = Resolution(
        "svc", (Requirement("a", "1", None, "a==1"), Requirement("b", "2", "x", "b==2 ; x")), (), ()
    )
    assert resolution.requirements_text() == "a==1\nb==2 ; x\n"


def test_member_code_is_found_from_hatch_config_or_convention(tmp_path):
    configured = tmp_path / "configured"
    (configured / "src" / "pkg").mkdir(parents=True)
    (configured / "pyproject.toml").write_text('[tool.hatch.build.targets.wheel]\npackages = ["src/pkg"]\n')
    assert member_sources(configured, "configured") == (configured / "src" / "pkg",)

    conventional = tmp_path / "conv"
    (conventional / "my_lib").mkdir(parents=True)
    (conventional / "pyproject.toml").write_text("[project]\nname = 'my-lib'\n")
    assert member_sources(conventional, "my-lib") == (conventional / "my_lib",)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StratusError, match="cannot find the code of workspace member 'nothing'"):
        member_sources(empty, "nothing")
