#!/usr/bin/env python3
"""Where the CPU of a request through `stratus dev` goes: the front (HTTP API, gateway, logs, console), the
execution environments (awslambdaric, Mangum, the app), the embedded AWS; per request, from /proc.

The hello Lambda of bench/httpapi.py (target b) is served by one or more checkouts of this repository, side by
side: each round starts each checkout's `uv run stratus dev` in turn (the order alternates between rounds),
warms it up, runs wrk at each concurrency, and stops it. Reported: medians over rounds of req/s, p50 and CPU
milliseconds per request by kind of process.

    python3 bench/front_cpu.py                                # this checkout
    git worktree add /tmp/before <rev> && (cd /tmp/before && uv sync)
    python3 bench/front_cpu.py --checkout /tmp/before --checkout .   # before and after, in one run

Prerequisites: wrk (bench/setup.sh). Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpapi  # the bench next to this one: its target b, wrk runs and process accounting

KINDS = ("front", "environments", "aws")


def kind_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"stratus.local.runtime.bootstrap" in cmdline:
            return "environments"
        if b"stratus.local.aws_server" in cmdline:
            return "aws"
    return "front"  # stratus dev itself (and `uv run`, which waits)


def cpu_by_kind(root: int) -> dict[str, float]:
    """CPU seconds used so far by the stack's processes, by kind (environments that exited are not counted)."""
    out = dict.fromkeys(KINDS, 0.0)
    for pid, stat in httpapi.process_tree(root).items():
        out[kind_of(pid)] += stat.cpu_ticks * httpapi._TICK_S
    return out


def steal_s() -> float:
    """CPU seconds the hypervisor took from this machine since boot (/proc/stat's steal): a noisy neighbour."""
    return int(Path("/proc/stat").read_text().split()[8]) * httpapi._TICK_S


def measure(target: httpapi.Target, connections: list[int], seconds: int) -> dict[int, dict[str, float]]:
    httpapi.LOGS.mkdir(parents=True, exist_ok=True)
    out = {}
    with httpapi.running(target, httpapi.LOGS / "front_cpu.log") as (proc, started):
        httpapi.wait_ready(target, proc, started)
        httpapi.warm_up(target, max(connections), 4)
        for c in connections:
            before, stolen = cpu_by_kind(proc.pid), steal_s()
            r = httpapi.wrk(target, c, seconds)
            after, stolen = cpu_by_kind(proc.pid), steal_s() - stolen
            per_request = {k: 1000 * (after[k] - before[k]) / max(1, r["requests"]) for k in KINDS}
            out[c] = {"rps": r["rps"], "p50_ms": r["p50_ms"], "errors": r["errors"]} | {
                f"{k}_ms": v for k, v in per_request.items()
            }
            out[c]["total_ms"] = sum(per_request.values())
            out[c]["steal_pct"] = 100 * stolen / seconds
    return out


def measure_with_retries(workdir: Path, checkout: Path, connections: list[int], seconds: int) -> dict[int, Any]:
    """One start of the checkout's stack, measured; started again on another port if it could not start (a port
    next to the one picked, which `stratus dev` also takes, may be in use)."""
    for attempt in range(3):
        target = httpapi.target_b(workdir / str(attempt), "uv run stratus dev --port {port}")
        target.env["UV_PROJECT"] = str(checkout)
        try:
            return measure(target, connections, seconds)
        except httpapi.Skip as skip:
            httpapi.say(f"  {checkout}: {skip}; starting again")
    raise RuntimeError(f"{checkout}: the stack did not start (see {httpapi.LOGS / 'front_cpu.log'})")


def label(checkout: Path) -> str:
    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(checkout), *argv], capture_output=True, text=True).stdout.strip()

    changed = "+changes" if git("status", "--porcelain", "-uno") else ""
    return f"{git('rev-parse', '--short', 'HEAD') or checkout.name}{changed}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", action="append", type=Path, help="a checkout of this repository (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", default="1,16")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in (args.checkout or [httpapi.REPO])]
    connections = [int(c) for c in args.connections.split(",")]
    labels = [label(c) for c in checkouts]
    runs: dict[str, dict[int, list[dict[str, float]]]] = {name: {c: [] for c in connections} for name in labels}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = list(zip(labels, checkouts, strict=True))
            for name, checkout in order if round_ % 2 == 0 else order[::-1]:
                workdir = Path(tmp) / f"{round_}-{name}"
                for c, figures in measure_with_retries(workdir, checkout, connections, args.duration).items():
                    runs[name][c].append(figures)
                    cpu = ", ".join(f"{k} {figures[f'{k}_ms']:.3f}" for k in KINDS)
                    httpapi.say(
                        f"round {round_ + 1} {name} c={c}: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.3f} "
                        f"ms; CPU ms/request: {cpu}, total {figures['total_ms']:.3f}; steal {figures['steal_pct']:.0f}%"
                    )
    medians: dict[str, dict[int, dict[str, float]]] = {
        name: {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for c, rs in per_c.items()}
        for name, per_c in runs.items()
    }
    print(f"\nmedians of {args.rounds} rounds ({args.duration} s each), CPU ms per request")
    print(f"{'checkout':<22} {'c':>3} {'req/s':>7} {'p50 ms':>7} " + " ".join(f"{k:>12}" for k in (*KINDS, "total")))
    for name, per_c in medians.items():
        for c, m in per_c.items():
            cells = " ".join(f"{m[f'{k}_ms']:12.3f}" for k in (*KINDS, "total"))
            print(f"{name:<22} {c:>3} {m['rps']:7.0f} {m['p50_ms']:7.3f} {cells}")
    result: dict[str, Any] = {
        "date": datetime.date.today().isoformat(), "host": httpapi.host(), "medians": medians, "runs": runs,
        "checkouts": dict(zip(labels, map(str, checkouts), strict=True)),
    }  # fmt: skip
    path = httpapi.output_path("front-cpu")
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {path.relative_to(httpapi.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
