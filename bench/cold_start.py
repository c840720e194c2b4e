"""Cold starts as Lambda has them: each reference service's built zip, booted through the Runtime API.

For every Lambda handler of the stack (the HTTP app, the gateway's route authorizer, the SQS consumers, the
scheduled jobs), the service's zip is built for this machine (`stratus build` for its CPU and the manifest's
Python, bytecode included: what ships, but runnable here), unpacked once, and booted again and again on a clean
interpreter (``python -I -S``, ``sys.path`` = the zip then a directory with awslambdaric and boto3, the
environment the plan declares), driven by awslambdaric against the local cloud's Runtime API. The figure is
Lambda's ``Init Duration``: from the process's start to its first ``/next`` (interpreter start, the runtime
client, the handler's import). A bare FastAPI + Mangum app, built the same way from the same versions of
fastapi and mangum, is booted in the same shuffled rounds; ratios are of medians from the same run.
Targets: every HTTP app <= 1.3x the bare app; the authorizer and the SQS consumers <= 0.5x.

After the table, each handler's import profile (``-X importtime`` on the same clean interpreter): the time
spent in each top-level package's own modules, largest first, and the handler's direct imports.

    .venv/bin/python bench/cold_start.py                      # 15 rounds, every handler, ~2 min
    .venv/bin/python bench/cold_start.py --rounds 5 --only gateway,worker --top 10
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.metadata
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stratus.build.archive import extract
from stratus.build.package import Builder, BuildOptions
from stratus.build.targets import arch_of_machine, host_glibc
from stratus.deploy.artifact import Artifact, boot_code, check_runnable, function_config, layers_dir
from stratus.local.runtime.environment import Environment
from stratus.manifest import Stack, find_root, load_stack

ROOT = Path(__file__).resolve().parents[1]
BARE = "(bare FastAPI + Mangum)"
TARGETS = {"http": 1.3, "authorizer": 0.5, "sqs": 0.5}  # ratio to the bare app, per kind of handler
BARE_APP = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy"}


handler = Mangum(app, lifespan="off")
"""


@dataclass
class Handler:
    label: str  # service, or service:kind
    service: str
    handler: str
    kind: str
    stack: Stack
    artifact: Artifact
    task_root: Path


def bare_stack(tmp: Path, runtime: str, arch: str) -> Stack:
    """A one-service workspace: the bare app, with this repository's fastapi and mangum versions, locked."""
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in ("fastapi", "mangum")]
    files = {
        "pyproject.toml": '[project]\nname = "bare-stack"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
        '[tool.uv.workspace]\nmembers = ["services/*"]\n',
        "stratus.toml": f'[project]\nname = "bare"\nruntime = "{runtime}"\narch = "{arch}"\n\n'
        '[services.bare]\nkind = "lambda"\npath = "/bare"\n',
        "services/bare/pyproject.toml": '[project]\nname = "bare"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = {json.dumps(pins)}\n\n"
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        "services/bare/bare/__init__.py": "",
        "services/bare/bare/main.py": textwrap.dedent(BARE_APP),
    }
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["uv", "lock", "--quiet"], cwd=tmp, check=True)
    return load_stack(tmp)


def build(stack: Stack, services: list[str], runtime: str, arch: str) -> dict[str, Artifact]:
    options = BuildOptions(runtime=runtime, arch=arch, glibc=host_glibc())  # type: ignore[arg-type]
    results = Builder(stack, options).build_many(services)
    for result in results:
        print(f"  built {result.service}: {result.report.zipped / 2**20:.2f} MB, bytecode {result.bytecode}")
    return {result.service: Artifact.open(result.path) for result in results}


async def boot(config_of: Handler) -> float:
    """One cold start: the Init Duration, in ms."""
    config = function_config(config_of.artifact, config_of.stack, config_of.task_root,
                             check_runnable(config_of.artifact), handler=config_of.handler)  # fmt: skip
    env = Environment(
        handler=config.handler, task_root=config.task_root, environ=config.environ,
        log=lambda line, request_id=None: None, on_exit=lambda env: None, argv=config.runtime_argv,
    )  # fmt: skip
    try:
        await env.start(30.0)
        return env.init_duration_ms
    finally:
        await env.kill()
        if env.server is not None:
            env.server.close()


IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(item: Handler, top: int) -> list[str]:
    """``-X importtime`` of the handler's module on the same clean interpreter, summarised."""
    config = function_config(item.artifact, item.stack, item.task_root, check_runnable(item.artifact),
                             handler=item.handler)  # fmt: skip
    module = item.handler.rsplit(".", 1)[0]
    interpreter = check_runnable(item.artifact)
    code = boot_code(layers_dir(item.stack.root, interpreter, item.artifact.info.from_layers), f"import {module}")
    done = subprocess.run([interpreter.path, "-I", "-S", "-X", "importtime", "-c", code],
                          env=dict(config.environ), cwd=item.task_root, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:  # a profile of an import that failed would look fast
        return [f"  {item.label}: the import failed: {done.stderr.strip().splitlines()[-1]}"]
    rows = []  # (cumulative us, self us, depth, module)
    for line in done.stderr.splitlines():
        match = IMPORTTIME.match(line)
        if match:
            rows.append((int(match[2]), int(match[1]), len(match[3]) // 2, match[4]))
    by_package: collections.Counter[str] = collections.Counter()
    for _cum, own, _depth, name in rows:
        by_package[name.split(".")[0]] += own
    total = sum(by_package.values())
    out = [f"  {item.label}: {total / 1000:.0f} ms of imports, {len(rows)} modules"]
    out.append("    own time by package: " + ", ".join(
        f"{name} {us / 1000:.0f}" for name, us in by_package.most_common(top)))  # fmt: skip
    direct = sorted((r for r in rows if r[2] == 1), reverse=True)[:top]
    out.append("    its imports (cumulative): " + ", ".join(f"{name} {cum / 1000:.0f}" for cum, _, _, name in direct))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", help="comma-separated services")
    parser.add_argument("--top", type=int, default=8, help="entries per import profile")
    args = parser.parse_args()
    stack = load_stack(find_root(ROOT))
    arch = arch_of_machine(__import__("platform").machine())
    runtime = stack.project.runtime
    only = set(args.only.split(",")) if args.only else None
    services = [name for name, _ in stack.lambdas() if only is None or name in only]
    print(f"building {len(services) + 1} zips for {runtime} on {arch} (with bytecode)")
    with tempfile.TemporaryDirectory(prefix="stratus-cold-") as tmp:
        bare = bare_stack(Path(tmp) / "bare", runtime, arch)
        artifacts = {**build(stack, services, runtime, arch)}
        bare_artifact = build(bare, ["bare"], runtime, arch)["bare"]
        items: list[Handler] = []
        for service, artifact in [("bare", bare_artifact), *artifacts.items()]:
            owner = bare if service == "bare" else stack
            task = Path(tmp) / "task" / service
            task.mkdir(parents=True)
            extract(artifact.path, task)
            for function in owner.plan.services[service].functions:
                if function.kind == "migrate":
                    continue
                label = (
                    BARE
                    if service == "bare"
                    else (service if function.kind == "http" else f"{service}:{function.handler.rsplit('.', 2)[-2]}")
                )
                items.append(Handler(label, service, function.handler, function.kind, owner, artifact, task))
        for item in items:  # warm the disk cache and awslambdaric's directory once
            asyncio.run(boot(item))
        samples: dict[str, list[float]] = {item.label: [] for item in items}
        for number in range(args.rounds):
            order = list(items)
            random.shuffle(order)
            for item in order:
                samples[item.label].append(asyncio.run(boot(item)))
            print(f"\r  round {number + 1}/{args.rounds}", end="", flush=True)
        print()
        base = statistics.median(samples[BARE])
        print(f"\nInit Duration, median of {args.rounds} cold starts (ms); ratio to the bare app in the same run")
        print(f"{'handler':26} {'kind':11} {'median':>8} {'p90':>8} {'ratio':>7}  target")
        results = {}
        for item in items:
            values = samples[item.label]
            med = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else med
            ratio = med / base
            limit = TARGETS.get(item.kind) if item.label != BARE else None
            verdict = "" if limit is None else (f"<= {limit}x ok" if ratio <= limit else f"<= {limit}x OVER")
            print(f"{item.label:26} {item.kind:11} {med:8.1f} {p90:8.1f} {ratio:6.2f}x  {verdict}")
            results[item.label] = {"kind": item.kind, "median_ms": med, "p90_ms": p90, "ratio": ratio,
                                   "target": limit, "samples_ms": values}  # fmt: skip
        print("\nimport profiles (-X importtime, ms)")
        for item in items:
            print("\n".join(import_profile(item, args.top)))
        sizes = {s: a.path.stat().st_size for s, a in artifacts.items()}
        out = ROOT / "bench" / "results" / f"cold-start-{datetime.now(UTC):%Y-%m-%d}.json"
        out.write_text(json.dumps({"python": runtime, "arch": arch, "rounds": args.rounds, "results": results,
                                   "zip_bytes": sizes}, indent=2))  # fmt: skip
        print(f"\nwritten: {out.relative_to(ROOT)}")
        shutil.rmtree(Path(tmp) / "task", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
