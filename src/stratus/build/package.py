"""``stratus build``: one zip per Lambda service, cross-built for its runtime and architecture.

The pipeline, per service (no Docker, no network beyond the package index):

1. **resolve** (:mod:`stratus.build.workspace`): the locked requirements, minus what the Lambda runtime
   provides, and the workspace packages (the service's own, libs/common) that ship as source;
2. **check wheels**: every requirement must have a wheel for the target, or the build stops naming all
   that do not;
3. **dependency layer**: ``uv pip install --target --python-platform <arch>-manylinux_2_X
   --python-version 3.Y --only-binary :all: --no-deps`` of exactly those pins, then slimmed
   (:mod:`stratus.build.slim`; shared libraries stripped of sections never loaded) and compiled to bytecode
   (:mod:`stratus.build.bytecode`). A layer is cached under ``.stratus/build/deps/<key>`` by the hash of its
   requirements, target and this packager, so services with the same dependencies and later builds reuse it;
4. **zip**: the layer plus the workspace sources (compiled too). A dependency module that importing the handlers
   reaches ships as its bytecode alone (``pkg/mod.pyc`` where ``pkg/mod.py`` was: CPython loads it without a
   source, and a traceback through it shows no source line): sources and bytecode of the same modules would ship
   twice; the others ship as source. The workspace's own code keeps both, so its tracebacks show their lines.
   Written deterministically (:mod:`stratus.build.archive`) to
   ``.stratus/build/<service>-<hash12>-<runtime>-<arch>.zip``, where the hash covers every input (this
   packager's code, the layer key, each source file, the handlers).
   An existing zip with that name is the build: nothing is redone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from stratus import paths
from stratus.build import bytecode, slim
from stratus.build.archive import BuildInfo, DeflateCache, SizeReport, write_zip
from stratus.build.targets import Arch, Target
from stratus.build.workspace import DEFAULT_PROVIDED, Lock, Resolution, check_wheels, resolve, run_uv
from stratus.errors import StratusError
from stratus.manifest import LambdaService, Stack

_ZIP_MODULES = ("archive", "bytecode", "elfstrip", "package", "slim", "targets", "workspace")
KEEP_ZIPS = 3  # per service, runtime and architecture: the newest builds stay, older ones are deleted
PACKAGE_LIMIT = 250 * 1024 * 1024  # Lambda's limit on the unzipped size of a function


@dataclass(frozen=True)
class BuildOptions:
    runtime: str | None = None  # None: the manifest's [project] runtime
    arch: Arch | None = None  # None: the service's arch, else the project's
    provided: tuple[str, ...] = DEFAULT_PROVIDED
    bytecode: bool = True  # ship .pyc when an interpreter of the target version is found
    glibc: tuple[int, int] | None = None  # None: the runtime's Amazon Linux; set for a zip run on this machine


@dataclass(frozen=True)
class Layer:
    """An installed, slimmed (and maybe compiled) dependency directory."""

    key: str
    site: Path
    dropped_files: int
    dropped_bytes: int
    built: bool  # False when it came from the cache
    stripped_files: int = 0  # shared libraries stripped of sections never loaded (debug information)
    stripped_bytes: int = 0


@dataclass(frozen=True)
class BuildResult:
    service: str
    path: Path
    target: Target
    cached: bool
    seconds: float
    report: SizeReport
    bytecode: str | None  # the cache tag compiled for, or None
    bytecode_note: str  # how it was compiled, or why not
    requirements: tuple[str, ...]
    left_out: tuple[str, ...]
    layer: Layer | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    from_layers: tuple[str, ...] = ()  # pins left out because AWS's layers bring them (the plan's Function.layers)


Progress = Callable[[str], None]


class Builder:
    """Builds the Lambda zips of one stack; caches what it finds (interpreters, layers) across services."""

    def __init__(self, stack: Stack, options: BuildOptions | None = None, *, progress: Progress | None = None) -> None:
        self.stack = stack
        self.options = options or BuildOptions()
        self.progress = progress or (lambda _msg: None)
        self.out = paths.build_dir(stack.root)
        self._lock: Lock | None = None
        self._interpreters: dict[Target, bytecode.Interpreter | None] = {}

    # ------------------------------------------------------------------------------------------ public

    def target(self, service: str) -> Target:
        self._lambda(service)
        http = self.stack.plan.services[service].function("http")
        return Target(self.options.runtime or http.runtime, self.options.arch or http.arch, self.options.glibc)

    def build(self, service: str) -> BuildResult:
        started = time.perf_counter()
        target = self.target(service)
        lock = self.lock()
        self.progress(f"{service}: resolving ({target})")
        resolution = resolve(
            self.stack.root, self.stack.service_dir(service), provided=self.options.provided,
            layers=self._layer_distributions(service), lock=lock,
        )  # fmt: skip
        check_wheels(resolution, target, lock)
        interpreter = self.interpreter(target)
        layer_key = self._layer_key(resolution, target, interpreter)
        handlers = self._handlers(service)
        sources = self._sources(resolution)
        self._check_handlers(service, handlers, sources)
        from_layers = tuple(f"{r.name}=={r.version}" for r in resolution.from_layers)
        inputs = self._inputs_hash(layer_key, sources, handlers, target, from_layers)
        path = self.out / f"{service}-{inputs[:12]}-{target.runtime}-{target.arch}.zip"
        tag, note = (interpreter.cache_tag, f"compiled by {interpreter.path}") if interpreter else (None, "")
        if interpreter is None:
            note = self._no_bytecode_note(target)
        if path.exists():
            report = SizeReport.of(path)
            return BuildResult(
                service, path, target, True, time.perf_counter() - started, report, tag, note,
                tuple(r.line for r in resolution.requirements), resolution.left_out, from_layers=from_layers,
            )  # fmt: skip
        layer = self.layer(resolution, target, layer_key)
        self.progress(f"{service}: zipping")
        stage = self.out / "stage" / f"{service}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(stage, ignore_errors=True)
        compile_failures: tuple[str, ...] = ()
        try:
            for arcname, source in sources:
                dest = stage / arcname
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
            _check_collisions(layer.site, stage)
            entries = [(name, p) for name, p in _tree(layer.site) if "__pycache__/" not in name]
            if interpreter is not None:
                bytecode.compile_tree(interpreter, stage, strict=True)
                roots = [h.rsplit(".", 1)[0] for h in handlers]
                reached = bytecode.compile_reachable(
                    interpreter, roots, [stage, layer.site], [layer.site], graph=layer.site.parent / "imports.json"
                )
                compile_failures = reached.failed
                compiled = _sourceless_entries(layer.site, reached.files, interpreter.cache_tag)
                entries = [(name, p) for name, p in entries if name not in compiled] + list(compiled.values())
            entries += _tree(stage)
            info = BuildInfo(
                service, handlers[0], target.runtime, target.arch, tag, inputs, tuple(handlers), target.uv_platform,
                from_layers,
            )  # fmt: skip
            write_zip(
                path, entries, comment=info.to_comment(), cache=DeflateCache(layer.site, layer.site.parent / "deflated")
            )
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        self._prune(service, target, keep=path)
        report = SizeReport.of(path)
        warnings = []
        if report.unzipped > PACKAGE_LIMIT:
            warnings.append(
                f"unzipped size {report.unzipped / 2**20:.0f} MB is over Lambda's 250 MB limit: "
                "use a container image (`stratus image build`)"
            )
        if compile_failures:
            shown = ", ".join(f.removeprefix(str(layer.site) + "/") for f in compile_failures[:3])
            warnings.append(
                f"{len(compile_failures)} dependency module(s) do not compile for {target.runtime} "
                f"(shipped as source only): {shown}"
            )
        return BuildResult(
            service, path, target, False, time.perf_counter() - started, report, tag, note,
            tuple(r.line for r in resolution.requirements), resolution.left_out, layer, tuple(warnings),
            from_layers,
        )  # fmt: skip

    def build_many(self, services: list[str], *, workers: int | None = None) -> list[BuildResult]:
        """Build several services at once (uv, the compiler and zlib work outside the GIL); results in order."""
        self.lock()
        for service in services:  # find each target's interpreter once, before the threads race for it
            self.interpreter(self.target(service))
        count = max(1, min(len(services), workers or os.cpu_count() or 1))
        if count == 1:
            return [self.build(service) for service in services]
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(self.build, services))

    def lock(self) -> Lock:
        if self._lock is None:
            self._lock = Lock(self.stack.root)
        return self._lock

    def interpreter(self, target: Target) -> bytecode.Interpreter | None:
        if not self.options.bytecode:
            return None
        if target not in self._interpreters:
            self._interpreters[target] = bytecode.find_interpreter(target)
        return self._interpreters[target]

    # ------------------------------------------------------------------------------------------ layer

    def layer(self, resolution: Resolution, target: Target, key: str) -> Layer:
        final = self.out / "deps" / key[:20]
        meta = final / "layer.json"
        if meta.exists():
            data = json.loads(meta.read_text())
            return Layer(
                key, final / "site", data["dropped_files"], data["dropped_bytes"], built=False,
                stripped_files=data["stripped_files"], stripped_bytes=data["stripped_bytes"],
            )  # fmt: skip
        tmp = final.with_name(f".{final.name}.tmp{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            requirements = tmp / "requirements.txt"
            requirements.write_text(resolution.requirements_text())
            self.progress(f"{resolution.package}: installing {len(resolution.requirements)} packages for {target}")
            site = tmp / "site"
            if resolution.requirements:
                run_uv(
                    [
                        "pip", "install", "--target", str(site), "--python-platform", target.uv_platform,
                        "--python-version", target.python_version, "--only-binary", ":all:", "--no-deps",
                        "--link-mode", "copy", "--quiet", "-r", str(requirements),
                    ],
                    cwd=self.stack.root,
                    what=f"installing the dependencies of {resolution.package} for {target}",
                )  # fmt: skip
            site.mkdir(exist_ok=True)
            dropped = slim.slim_tree(site, site=True)
            data = {
                "dropped_files": dropped.files, "dropped_bytes": dropped.bytes, "target": str(target),
                "stripped_files": dropped.stripped_files, "stripped_bytes": dropped.stripped_bytes,
            }  # fmt: skip
            (tmp / "layer.json").write_text(json.dumps(data, indent=2, sort_keys=True))
            try:
                tmp.replace(final)
            except OSError:  # built concurrently by another process: theirs is as good as ours
                if not (final / "layer.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Layer(
            key, final / "site", dropped.files, dropped.bytes, built=True,
            stripped_files=dropped.stripped_files, stripped_bytes=dropped.stripped_bytes,
        )  # fmt: skip

    # ------------------------------------------------------------------------------------------ inputs

    def _lambda(self, service: str) -> LambdaService:
        svc = self.stack.services.get(service)
        if svc is None:
            known = ", ".join(name for name, _ in self.stack.lambdas()) or "none"
            raise StratusError(f"no service named {service!r} in {self.stack.manifest_path.name}",
                               hint=f"Lambda services: {known}")  # fmt: skip
        if not isinstance(svc, LambdaService):
            raise StratusError(
                f"{service} is a {svc.kind} service: it ships as a container image, not a zip",
                hint=f"build its image with `stratus image build {service} --env dev`",
            )
        return svc

    def _layer_distributions(self, service: str) -> frozenset[str]:
        """What the AWS managed layers of the service's functions bring (``[project] powertools = "layer"``)."""
        layers = self.stack.plan.services[service].function("http").layers
        return frozenset().union(*(layer.distributions for layer in layers))

    def _handlers(self, service: str) -> list[str]:
        """Every handler the zip's functions run (HTTP first: the zip's default)."""
        return list(dict.fromkeys(fn.handler for fn in self.stack.plan.services[service].functions))

    def _sources(self, resolution: Resolution) -> list[tuple[str, Path]]:
        out: list[tuple[str, Path]] = []
        for member in resolution.members:
            for package in member.sources:
                base = package.parent
                out.extend((f.relative_to(base).as_posix(), f) for f in slim.source_files(package))
        return sorted(out)

    def _check_handlers(self, service: str, handlers: list[str], sources: list[tuple[str, Path]]) -> None:
        names = {arcname for arcname, _ in sources}
        for handler in handlers:
            module = handler.rsplit(".", 1)[0].replace(".", "/")
            if f"{module}.py" not in names and f"{module}/__init__.py" not in names:
                raise StratusError(
                    f"{service}: handler {handler!r} names module {module.replace('/', '.')!r}, "
                    "which is not in the service's code or the workspace libraries it depends on",
                    hint=f"check the handler in {self.stack.manifest_path.name} and the service's package layout",
                )

    def _layer_key(self, resolution: Resolution, target: Target, interpreter: bytecode.Interpreter | None) -> str:
        digest = hashlib.sha256()
        for part in (
            packager_hash(),
            uv_version(),
            target.runtime,
            target.arch,
            target.uv_platform,
            f"{interpreter.cache_tag} {interpreter.full_version}" if interpreter else "no-bytecode",
            resolution.requirements_text(),
        ):
            digest.update(part.encode() + b"\0")
        return digest.hexdigest()

    def _inputs_hash(
        self, layer_key: str, sources: list[tuple[str, Path]], handlers: list[str], target: Target,
        from_layers: tuple[str, ...],
    ) -> str:  # fmt: skip
        digest = hashlib.sha256()
        digest.update(f"{layer_key}\0{target}\0{','.join(handlers)}\0{','.join(from_layers)}\0".encode())
        for arcname, path in sources:
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            digest.update(f"{arcname}\0{executable}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def _no_bytecode_note(self, target: Target) -> str:
        if not self.options.bytecode:
            return "not shipped: --no-bytecode"
        wanted = target.python_version
        return (
            f"not shipped: no Python {wanted} on this machine to compile it (bytecode only loads in the "
            f"version that wrote it); cold starts import from source, ~3x slower. "
            f"Install one (`uv python install {wanted}`, or set STRATUS_PYTHON_{wanted.replace('.', '_')}) "
            "and build again"
        )

    def _prune(self, service: str, target: Target, *, keep: Path) -> None:
        pattern = f"{service}-*-{target.runtime}-{target.arch}.zip"
        zips = sorted(
            (p for p in self.out.glob(pattern) if p != keep and p.name.count("-") == keep.name.count("-")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in zips[KEEP_ZIPS - 1 :]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def _tree(root: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, _dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            out.append((path.relative_to(root).as_posix(), path))
    return out


def _sourceless_entries(site: Path, reached: tuple[str, ...], tag: str) -> dict[str, tuple[str, Path]]:
    """Each reached module under ``site`` that has bytecode: its source's name in the zip -> (``pkg/mod.pyc``,
    the cached ``pkg/__pycache__/mod.<tag>.pyc``), so that the bytecode ships in the source's place."""
    out = {}
    prefix = str(site) + os.sep
    for file in reached:
        source = Path(file)
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if file.startswith(prefix) and pyc.exists():
            name = source.relative_to(site).as_posix()
            out[name] = (name[:-3] + ".pyc", pyc)
    return out


def _check_collisions(site: Path, stage: Path) -> None:
    clash = sorted({p.name for p in stage.iterdir()} & {p.name for p in site.iterdir()})
    if clash:
        raise StratusError(
            f"the workspace package(s) {', '.join(clash)} have the same name as an installed dependency",
            hint="rename the workspace package: both cannot be imported from one directory",
        )


@cache
def packager_hash() -> str:
    """A hash of the build code itself: a change in how zips are made invalidates every cached build."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(here / f"{name}.py" for name in _ZIP_MODULES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@cache
def uv_version() -> str:
    from stratus.build.workspace import uv_executable

    proc = subprocess.run([uv_executable(), "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def build_for_host(stack: Stack, service: str, *, progress: Progress | None = None) -> BuildResult:
    """A zip of ``service`` that runs on this machine (its architecture, an installed Python), for
    ``stratus invoke --build``."""
    from stratus.build.targets import host_target

    target = host_target()
    if target is None:
        raise StratusError("this machine is not one Lambda runs on (Linux, x86_64 or arm64, Python 3.11+)")
    options = BuildOptions(runtime=target.runtime, arch=target.arch, glibc=target.glibc_override)
    return Builder(stack, options, progress=progress).build(service)
