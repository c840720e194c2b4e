"""``stratus invoke --artifact``: run a built zip the way Lambda runs it, and invoke it.

This is what proves a zip boots, so it reproduces the sandbox rather than the developer's environment:

- the zip is unpacked into a directory of its own (Lambda's ``/var/task``), modes kept;
- the runtime is a **clean** interpreter of the zip's Python version: ``python -I -S``, so no site-packages,
  no user site, no ``PYTHON*`` variables; ``sys.path`` is the unpacked zip, then a directory holding
  awslambdaric and boto3/botocore (what Lambda's ``/var/runtime`` and its Python's site-packages hold), then
  the standard library. A dependency the zip forgot fails the import here as it would in AWS;
- it is driven by the local cloud's Lambda runtime (:class:`stratus.local.runtime.function.LambdaFunction`):
  awslambdaric polls the Runtime API, the result comes back through it, with Lambda's START/END/REPORT lines;
- the environment is the one the plan declares for the service (identity, one variable per resource it uses,
  named and shaped as in AWS: :meth:`stratus.local.aws.Provisioned.aws_shaped`) plus Lambda's reserved
  variables (:func:`stratus.local.environ.lambda_environ`), with no AWS endpoint unless one is given: a handler
  that calls AWS at import reaches nothing by accident.

The zip must be built for this machine: its architecture, and a Python version installed here (the local
interpreter's, or any found as for bytecode). ``stratus build SERVICE --arch x86_64 --runtime python3.11``
builds one for a typical x86_64 laptop with Python 3.11.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stratus import naming, paths
from stratus.build import bytecode
from stratus.build.archive import BuildInfo, extract, read_info
from stratus.build.targets import Target, arch_of_machine
from stratus.build.workspace import run_uv
from stratus.errors import StratusError
from stratus.events.httpapi import HttpRequest, build_event
from stratus.local.aws import Provisioned
from stratus.local.environ import Endpoints, lambda_environ, runtime_environ
from stratus.local.httpapi.routes import RouteTable
from stratus.local.runtime.function import FunctionConfig, InvokeResult, LambdaFunction
from stratus.manifest import LambdaService, Stack

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.manifest.plan import Function

RUN_RUNTIME = "import runpy; runpy.run_module('awslambdaric', run_name='__main__', alter_sys=True)"


def boot_code(opt: Path | None, then: str = RUN_RUNTIME) -> str:
    """Python for ``-c``: Lambda's bootstrap puts the task root first, its layers' ``/opt/python`` (``opt``) next
    and the runtime directory after them (-I -S leave only the stdlib); then runs awslambdaric, or ``then``."""
    layers = [str(opt)] if opt else []
    return (
        "import os, sys; "
        f"sys.path[:0] = [os.environ['LAMBDA_TASK_ROOT'], *{layers!r}, os.environ['LAMBDA_RUNTIME_DIR']]; {then}"
    )


# What the Lambda Python runtime itself provides next to the code (AWS ships boto3 and botocore with it).
RUNTIME_PACKAGES = ("awslambdaric", "boto3")


@dataclass(frozen=True)
class Artifact:
    path: Path
    info: BuildInfo

    @classmethod
    def open(cls, path: Path) -> Artifact:
        if not path.is_file():
            raise StratusError(f"{path}: no such file", hint="build one with `stratus build SERVICE`")
        try:
            info = read_info(path)
        except (OSError, ValueError) as exc:
            raise StratusError(f"{path}: not a zip ({exc})") from exc
        if info is None:
            raise StratusError(f"{path}: not a zip built by `stratus build` (it has no build record)")
        return cls(path, info)


def check_runnable(artifact: Artifact) -> bytecode.Interpreter:
    """The interpreter to boot ``artifact`` with here, or an error saying what to build instead."""
    info = artifact.info
    here = arch_of_machine(platform.machine())
    target = Target(info.runtime, info.arch)  # type: ignore[arg-type]
    interpreter = bytecode.find_interpreter(target) if here == info.arch else None
    if interpreter is None:
        local = "python{}.{}".format(*sys.version_info[:2])
        reason = (
            f"it is built for {info.arch} and this machine is {platform.machine()}"
            if here != info.arch
            else f"no Python {target.python_version} is installed here"
        )
        raise StratusError(
            f"{artifact.path.name} cannot run on this machine: {reason}",
            hint=f"build one for it: `stratus build {info.service} --arch {here or 'x86_64'} --runtime {local}`",
        )
    return interpreter


def runtime_dir(root: Path, interpreter: bytecode.Interpreter) -> Path:
    """awslambdaric and boto3 for ``interpreter`` (what Lambda keeps outside the zip), installed once."""
    versions = []
    for name in RUNTIME_PACKAGES:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(name)
    key = f"{interpreter.cache_tag}-{platform.machine()}-" + "-".join(v.replace("==", "") for v in versions)
    final = paths.build_dir(root) / "runtime" / key
    _install(root, final, interpreter, versions, options=(), compile_checked=False, what="the Lambda runtime")
    return final


def layers_dir(root: Path, interpreter: bytecode.Interpreter, pins: tuple[str, ...]) -> Path | None:
    """A stand-in for the ``/opt/python`` of the AWS managed layers the zip was built for: exactly the pins it left
    out for them (:attr:`BuildInfo.from_layers`, the lock's versions, which ``stratus deploy`` checks the real
    layer against), installed once for ``interpreter``. None when the zip needs no layer."""
    if not pins:
        return None
    digest = hashlib.sha256("\n".join([*sorted(pins), "checked-hash"]).encode()).hexdigest()[:16]
    final = paths.build_dir(root) / "opt" / f"{interpreter.cache_tag}-{platform.machine()}-{digest}"
    # AWS's layer keeps its sources beside bytecode with checked hashes (layer_v3/README.md, powertools-lambda-python)
    _install(root, final / "python", interpreter, list(pins), options=("--no-deps",), compile_checked=True,
             what="the layers' packages")  # fmt: skip
    return final / "python"


def _install(
    root: Path,
    final: Path,
    interpreter: bytecode.Interpreter,
    versions: list[str],
    *,
    options: tuple[str, ...],
    compile_checked: bool,
    what: str,
) -> None:
    """``uv pip install --target final`` of ``versions`` for ``interpreter``, unless done already."""
    if final.is_dir():
        return
    tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        run_uv(
            ["pip", "install", "--quiet", "--target", str(tmp), "--python", interpreter.path,
             "--only-binary", ":all:", *options, *versions],
            cwd=root,
            what=f"installing {what} ({', '.join(versions)}) for {interpreter.path}",
        )  # fmt: skip
        if compile_checked:
            done = subprocess.run(
                [interpreter.path, "-I", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "checked-hash",
                 str(tmp)], check=False, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                raise StratusError(f"compiling {what} for {interpreter.path} failed:\n{done.stdout}{done.stderr}")
        try:
            tmp.replace(final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def artifact_environ(
    stack: Stack,
    function: Function,
    task_root: Path,
    runtime: Path,
    *,
    runtime_name: str,
    endpoint: str | None = None,
    extra: Mapping[str, str] | None = None,
    declared: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables the function sees: the plan's (resources named and shaped as in AWS, no endpoint), or
    exactly ``declared`` (say, what the rendered Terraform sets), and the Lambda runtime's."""
    endpoints = Endpoints(
        aws=endpoint or "",
        invoke="",
        api="",
        provisioned=Provisioned.aws_shaped(stack.plan, naming.LOCAL_ACCOUNT_ID),
        databases={name: f"postgresql://unconfigured/{name}" for name in stack.databases},
    )
    env = lambda_environ(stack, function, task_root=task_root, endpoints=endpoints)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "AWS_ENDPOINT_URL_LAMBDA", "STRATUS_API_URL"):
        env.pop(key, None)
    if declared is not None:
        for key in stack.plan.services[function.service].environment:
            env.pop(key, None)
        env.update(declared)
        env.update({k: v for k, v in runtime_environ(function, task_root).items() if k in env})  # Lambda's win
    if not endpoint:
        env.pop("AWS_ENDPOINT_URL", None)
    env["LAMBDA_RUNTIME_DIR"] = str(runtime)
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime_name}"
    env.update(extra or {})
    return env


def http_event(
    stack: Stack,
    service: str,
    *,
    method: str = "GET",
    path: str | None = None,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    """An HTTP API payload 2.0 event for a request routed to ``service`` (default: ``GET <path>/health``)."""
    svc = stack.services[service]
    raw_path = path or (f"{svc.path.rstrip('/')}/health")
    table = RouteTable([route for route in stack.plan.routes if route.target == service])
    match = table.match(method.upper(), raw_path)
    if match is None:
        keys = ", ".join(route.key for route in table.routes)
        raise StratusError(
            f"{method.upper()} {raw_path} is not routed to {service} (its routes: {keys})",
            hint=f"give the path as the HTTP API receives it, e.g. --path {svc.path.rstrip('/')}/health",
        )
    request = HttpRequest(
        method=method.upper(),
        raw_path=raw_path,
        raw_query=query,
        headers=[("host", "localhost"), ("user-agent", "stratus-invoke"), *(headers or [])],
        body=body,
        source_ip="127.0.0.1",
    )
    event = build_event(
        request,
        route_key=match.route.key,
        path_parameters=match.path_parameters,
        api_id="artifact",
        account_id=naming.LOCAL_ACCOUNT_ID,
        domain_name="localhost",
        request_id=str(uuid.uuid4()),
    )
    return json.dumps(event, separators=(",", ":")).encode()


def function_config(
    artifact: Artifact,
    stack: Stack,
    task_root: Path,
    interpreter: bytecode.Interpreter,
    *,
    handler: str | None = None,
    endpoint: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    declared_env: Mapping[str, str] | None = None,
) -> FunctionConfig:
    """How Lambda would run ``handler`` (default: the zip's) of ``artifact`` unpacked at ``task_root``: a clean
    ``interpreter`` with the runtime directory after the code, and the environment the plan declares."""
    info = artifact.info
    svc = stack.services.get(info.service)
    if not isinstance(svc, LambdaService):
        raise StratusError(f"{info.service} is not a Lambda service in {stack.manifest_path.name}")
    handler = handler or info.handler
    if handler not in info.handlers:
        raise StratusError(
            f"{artifact.path.name} has no handler {handler!r}", hint=f"its handlers: {', '.join(info.handlers)}"
        )
    runtime = runtime_dir(stack.root, interpreter)
    opt = layers_dir(stack.root, interpreter, info.from_layers)
    function = next(fn for fn in stack.plan.services[info.service].functions if fn.handler == handler)
    return FunctionConfig(
        name=function.name,
        source=info.service,
        handler=handler,
        task_root=task_root,
        memory=function.memory,
        timeout=function.timeout,
        reserved_concurrency=None,
        environ=artifact_environ(
            stack,
            function,
            task_root,
            runtime,
            runtime_name=info.runtime,
            endpoint=endpoint,
            extra=extra_env,
            declared=declared_env,
        ),
        arn=function.arn(stack.project.region, naming.LOCAL_ACCOUNT_ID),
        log_group=function.log_group,
        runtime_argv=(interpreter.path, "-I", "-S", "-c", boot_code(opt)),
    )


async def invoke_artifact(
    artifact: Artifact,
    stack: Stack,
    service: str,
    event: bytes,
    sink: LogSink,
    *,
    endpoint: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    declared_env: Mapping[str, str] | None = None,
    handler: str | None = None,
    interpreter: bytecode.Interpreter | None = None,
) -> InvokeResult:
    """Unpack, boot and invoke ``artifact`` once with ``event``; the function's logs go to ``sink``."""
    if artifact.info.service != service:
        raise StratusError(f"{artifact.path.name} holds service {artifact.info.service!r}, not {service!r}")
    interpreter = interpreter or check_runnable(artifact)
    boot_root = paths.build_dir(stack.root) / "boot"
    boot_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=boot_root, prefix=f"{service}-") as scratch:
        task_root = Path(scratch) / "task"
        task_root.mkdir()
        config = function_config(
            artifact, stack, task_root, interpreter,
            handler=handler, endpoint=endpoint, extra_env=extra_env, declared_env=declared_env,
        )  # fmt: skip
        extract(artifact.path, task_root)
        fn = LambdaFunction(config, sink, max_environments=1)
        try:
            return await fn.invoke(event)
        finally:
            await fn.close()
