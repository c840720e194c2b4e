"""Real builds: uv cross-installs wheels for the target, and the zip boots as Lambda runs it.

A small workspace (a FastAPI + Mangum service using a workspace library) is built for arm64 and x86_64,
checked for what it holds, rebuilt byte for byte, and booted: unpacked, on a clean interpreter whose
``sys.path`` is the zip and a directory with awslambdaric, driven through the Lambda Runtime API by the
local cloud's runtime. Every Lambda service of the repository's own stack is booted the same way, with the
environment its Terraform declares (test_terraform_environment.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import subprocess
import textwrap
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from stratus.build.package import Builder, BuildOptions
from stratus.build.targets import host_target
from stratus.build.workspace import resolve, uv_executable
from stratus.deploy.artifact import Artifact, http_event, invoke_artifact
from stratus.errors import StratusError
from stratus.local.logs import LogSink
from stratus.manifest import find_root, load_stack
from stratus.manifest.layers import locked_version

pytestmark = pytest.mark.functional
HOST = host_target()
needs_host = pytest.mark.skipif(HOST is None, reason="boots zips: needs Linux on x86_64 or arm64, Python 3.11+")
ELF_MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}
MB = 1024 * 1024

FILES = {
    "pyproject.toml": """
        [project]
        name = "demo"
        version = "0.1.0"
        requires-python = ">=3.11"

        [tool.uv.workspace]
        members = ["libs/*", "services/*"]
        """,
    "stratus.toml": """
        [project]
        name = "demo"
        runtime = "python3.13"
        arch = "arm64"

        [services.hello]
        kind = "lambda"
        path = "/hello"
        consumes = [{ queue = "jobs", handler = "hello.main.crash" }]

        [services.db]
        kind = "lambda"
        path = "/db"

        [queues.jobs]
        visibility_timeout = 60
        """,
    "libs/shared/pyproject.toml": """
        [project]
        name = "shared"
        version = "0.1.0"
        requires-python = ">=3.11"

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        """,
    "libs/shared/shared/__init__.py": "",
    "libs/shared/shared/greeting.py": "def greet(who: str) -> str:\n    return f'hello, {who}'\n",
    "libs/shared/tests/test_greeting.py": "def test_nothing():\n    pass\n",
    "services/hello/pyproject.toml": """
        [project]
        name = "hello"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["shared", "fastapi==0.165.0", "mangum==0.22.0", "boto3"]

        [tool.uv.sources]
        shared = { workspace = true }

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [tool.hatch.build.targets.wheel]
        packages = ["hello"]
        """,
    "services/hello/hello/__init__.py": "",
    "services/hello/hello/main.py": """
        from fastapi import FastAPI
        from mangum import Mangum
        from shared.greeting import greet

        app = FastAPI()


        @app.get("/hello/health")
        def health() -> dict[str, str]:
            return {"status": "healthy", "greeting": greet("lambda")}


        handler = Mangum(app, lifespan="off")


        def crash(event, context):
            raise ValueError(f"cannot handle {sorted(event)}")
        """,
    "services/db/pyproject.toml": """
        [project]
        name = "db"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["psycopg[binary]==3.3.9"]

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        """,
    "services/db/db/__init__.py": "",
    "services/db/db/main.py": "def handler(event, context):\n    return {}\n",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    uv = uv_executable()
    lock = subprocess.run([uv, "lock", "--offline"], cwd=root, capture_output=True, text=True, check=False)
    if lock.returncode != 0:  # nothing cached yet: resolve against the index
        subprocess.run([uv, "lock"], cwd=root, capture_output=True, text=True, check=True)
    return root


@pytest.fixture
def stack(workspace):
    return load_stack(workspace)


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def _elf_machine(path: Path, member: str) -> int:
    with zipfile.ZipFile(path) as zf:
        header = zf.read(member)[:20]
    assert header[:4] == b"\x7fELF"
    return int.from_bytes(header[18:20], "little")


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_a_fastapi_service_is_cross_built_small_and_complete(stack, arch):
    result = Builder(stack, BuildOptions(arch=arch)).build("hello")
    names = _names(result.path)
    assert result.path.name.startswith("hello-") and result.path.name.endswith(f"-python3.13-{arch}.zip")
    assert result.report.zipped < 5 * MB, f"{result.report.zipped / MB:.2f} MB"
    # the service, the workspace library, the dependencies
    assert {"hello/main.py", "shared/greeting.py", "fastapi/__init__.py", "mangum/__init__.py"} <= set(names) or {
        "hello/main.py",
        "shared/greeting.py",
        "fastapi/__init__.pyc",
        "mangum/__init__.pyc",
    } <= set(names)
    native = [n for n in names if n.startswith("pydantic_core/") and n.endswith(".so")]
    assert native and all(f"-{'aarch64' if arch == 'arm64' else 'x86_64'}-linux-gnu" in n for n in native)
    assert _elf_machine(result.path, native[0]) == ELF_MACHINES[arch]
    # not what the runtime provides, nor what never runs
    assert result.left_out[:2] == ("boto3", "botocore")
    assert not [n for n in names if n.split("/")[0] in ("boto3", "botocore", "s3transfer", "bin")]
    assert not [n for n in names if "/tests/" in f"/{n}" or n.endswith(("/RECORD", ".pyi"))]
    assert "fastapi-0.165.0.dist-info/METADATA" in names
    # bytecode only for the target's Python, and only when an interpreter of that version compiled it
    pycs = [n for n in names if n.endswith(".pyc")]
    if result.bytecode:
        assert result.bytecode == "cpython-313"
        assert all(n.endswith(".cpython-313.pyc") for n in pycs if "__pycache__/" in n)
        # the workspace's code keeps its sources next to its bytecode; an imported dependency module ships as
        # bytecode alone, in its source's place; one nothing imports ships as source
        assert "hello/__pycache__/main.cpython-313.pyc" in pycs and "hello/main.py" in names
        assert "fastapi/__init__.pyc" in names and "fastapi/__init__.py" not in names
        assert not [n for n in pycs if n.startswith(("fastapi/", "pydantic/")) and "__pycache__/" in n]
        assert result.report.sourceless == len([n for n in pycs if "__pycache__/" not in n]) > 100
        unreached = [n for n in names if n.endswith(".py") and n.split("/")[0] not in ("hello", "shared")]
        assert unreached  # what nothing imports ships as source
        assert not {n[:-3] + ".pyc" for n in unreached} & set(names)
    else:
        assert pycs == []
        assert "no Python 3.13 on this machine" in result.bytecode_note


def test_the_same_inputs_give_the_same_bytes_and_a_warm_rebuild_is_free(stack, workspace):
    first = Builder(stack, BuildOptions(arch="x86_64")).build("hello")
    digest = hashlib.sha256(first.path.read_bytes()).hexdigest()
    shutil.rmtree(workspace / ".stratus" / "build")  # every cache gone: uv installs, compiles, zips again
    cold = Builder(stack, BuildOptions(arch="x86_64")).build("hello")
    assert not cold.cached
    assert cold.path == first.path
    assert hashlib.sha256(cold.path.read_bytes()).hexdigest() == digest
    warm = Builder(stack, BuildOptions(arch="x86_64")).build("hello")
    assert warm.cached and warm.path == first.path
    assert warm.seconds < 3


def test_a_change_in_a_workspace_library_makes_a_new_zip(stack, workspace):
    before = Builder(stack, BuildOptions(arch="x86_64")).build("hello")
    greeting = workspace / "libs/shared/shared/greeting.py"
    original = greeting.read_text()
    greeting.write_text(original + "\nSHOUT = True\n")
    try:
        after = Builder(stack, BuildOptions(arch="x86_64")).build("hello")
    finally:
        greeting.write_text(original)
    assert after.path != before.path and before.path.exists()
    with zipfile.ZipFile(after.path) as zf:
        assert b"SHOUT = True" in zf.read("shared/greeting.py")


def test_a_dependency_without_a_wheel_for_the_target_is_named(stack):
    # psycopg-binary 3.3 has no manylinux2014 aarch64 wheel; python3.11 runs on Amazon Linux 2 (manylinux2014)
    with pytest.raises(StratusError) as caught:
        Builder(stack, BuildOptions(arch="arm64", runtime="python3.11")).build("db")
    assert "psycopg-binary==3.3.9: no wheel for python3.11 on arm64" in caught.value.message
    # on python3.13 (Amazon Linux 2023, glibc 2.34) the manylinux_2_28 wheel is the right one
    ok = Builder(stack, BuildOptions(arch="arm64", runtime="python3.13")).build("db")
    assert any(n.startswith("psycopg_binary/") and "aarch64" in n for n in _names(ok.path))


def _for_host(**kwargs) -> BuildOptions:
    """A zip for this machine: its Python, its CPU, its glibc."""
    assert HOST is not None
    return BuildOptions(arch=HOST.arch, runtime=HOST.runtime, glibc=HOST.glibc, **kwargs)


def _invoke(stack, zip_path: Path, service: str, event: bytes, **kwargs):
    sink = LogSink(io.StringIO(), buffered=False)
    return asyncio.run(invoke_artifact(Artifact.open(zip_path), stack, service, event, sink, **kwargs))


@needs_host
def test_the_zip_boots_on_a_clean_interpreter_and_answers_an_http_event(stack):
    built = Builder(stack, _for_host()).build("hello")
    result = _invoke(stack, built.path, "hello", http_event(stack, "hello"))
    assert result.function_error is None, result.payload
    response = json.loads(result.payload)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "healthy", "greeting": "hello, lambda"}
    assert result.cold


@needs_host
def test_a_handler_error_comes_back_as_lambda_reports_it(stack):
    built = Builder(stack, _for_host()).build("hello")
    result = _invoke(stack, built.path, "hello", b'{"Records": []}', handler="hello.main.crash")
    assert result.function_error == "Unhandled"
    error = json.loads(result.payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "cannot handle ['Records']"
    # the service's own code keeps its sources: the traceback shows the line that raised
    assert any('raise ValueError(f"cannot handle {sorted(event)}")' in line for line in error["stackTrace"]), error


@needs_host
def test_nothing_outside_the_zip_is_importable(stack):
    # GIVEN a zip that leaves out pydantic-core, which this very interpreter has installed
    built = Builder(stack, _for_host(provided=("pydantic-core",))).build("hello")
    assert not [n for n in _names(built.path) if n.startswith("pydantic_core/")]
    # WHEN it boots THEN the import fails as it would in AWS: the test's own site-packages are not visible
    result = _invoke(stack, built.path, "hello", http_event(stack, "hello"))
    assert result.function_error == "Unhandled"
    assert "No module named 'pydantic_core'" in result.payload.decode()


def _reference_stack():
    return load_stack(find_root(Path(__file__)))


def test_the_reference_zips_are_small_with_bytecode():
    # AWS's Powertools layer brings Powertools and pydantic ([project] powertools = "layer"): for python3.13/arm64
    # with bytecode the gateway's zip is 1.6 MB and the others 1.1-1.5 MB, records 9.8 MB (SQLAlchemy 3.8 MB, and
    # psycopg-binary's libpq with its own OpenSSL and Kerberos 4.1 MB). Without the layer the gateway's is 6.2 MB.
    stack = _reference_stack()
    if stack.project.powertools != "layer":
        pytest.skip("the reference stack ships Powertools in its zips")
    services = [name for name, svc in stack.plan.services.items() if svc.kind == "lambda" and not svc.image]
    sizes = {r.service: r.report.zipped for r in Builder(stack).build_many(services)}
    limits = {"gateway": 3 * MB, "records": 11 * MB}
    over = {name: f"{size / MB:.2f} MB" for name, size in sizes.items() if size >= limits.get(name, 5 * MB)}
    assert not over, over


@needs_host
def test_a_zip_built_for_the_powertools_layer_leaves_out_what_it_brings_and_boots_with_it():
    stack = _reference_stack()
    if stack.project.powertools != "layer":
        pytest.skip("the reference stack ships Powertools in its zips")
    built = Builder(stack, _for_host()).build("gateway")
    names = _names(built.path)
    assert not [n for n in names if n.startswith(("pydantic/", "pydantic_core/", "aws_lambda_powertools/"))]
    # Powertools needs jmespath, which AWS deletes from its layer (the runtime has one): the zip keeps the lock's
    assert any(n.startswith("jmespath/") for n in names)
    assert not [line for line in built.from_layers if line.startswith("jmespath==")]
    lock = stack.root / "uv.lock"
    for name in ("aws-lambda-powertools", "pydantic", "pydantic-core", "typing-extensions"):
        assert f"{name}=={locked_version(lock, name)}" in built.from_layers
    artifact = Artifact.open(built.path)
    assert artifact.info.from_layers == built.from_layers  # what stratus deploy checks the real layer against
    # WHEN it boots with a stand-in for the layer (those pins, installed) THEN it answers
    result = _invoke(stack, built.path, "gateway", http_event(stack, "gateway"))
    assert result.function_error is None, result.payload
    assert json.loads(result.payload)["statusCode"] == 200
    # AND without it the same zip cannot import them: they are really left out
    bare = replace(artifact, info=replace(artifact.info, from_layers=()))
    sink = LogSink(io.StringIO(), buffered=False)
    result = asyncio.run(invoke_artifact(bare, stack, "gateway", http_event(stack, "gateway"), sink))
    assert result.function_error == "Unhandled"
    assert "No module named" in result.payload.decode()


def test_only_what_a_layer_holds_is_left_out_for_it(workspace):
    # GIVEN a layer said to hold pydantic and pydantic-core, but not what they need (annotated-types...)
    resolution = resolve(workspace, workspace / "services" / "hello", layers=frozenset({"pydantic", "pydantic_core"}))
    # THEN those two are left out, at the lock's versions, and what they need besides stays in the zip
    assert sorted(r.name for r in resolution.from_layers) == ["pydantic", "pydantic-core"]
    assert all(r.version for r in resolution.from_layers)
    kept = {r.name for r in resolution.requirements}
    assert {"fastapi", "annotated-types", "typing-extensions"} <= kept
    assert not {"pydantic", "pydantic-core"} & kept
    assert "boto3" in resolution.left_out  # the runtime's, as before
