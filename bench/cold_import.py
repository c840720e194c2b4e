"""Cold import of each Lambda service's HTTP handler, against a bare FastAPI + Mangum app, side by side.

Importing the handler's module is the part of a Lambda cold start that the code controls (the runtime's own
start is the same for every function). Each round imports every module once, in a fresh interpreter
(``python -c "import time; t = time.perf_counter(); import <module>; ..."``), in a shuffled order so that
no module always runs on a warmer disk cache; the figure is the median over the rounds, and the ratio is
``median(service) / median(bare)`` from the same run (the target is ≤ 1.3x).

    .venv/bin/python bench/cold_import.py                 # 15 rounds, every Lambda service of stratus.toml
    .venv/bin/python bench/cold_import.py --rounds 31 --only players,api
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
"""
PROBE = "import time, sys; t = time.perf_counter(); import {module}; sys.stdout.write(str(time.perf_counter() - t))"


def handler_modules(only: set[str] | None) -> dict[str, str]:
    """Service -> the module of its HTTP handler, for every Lambda service of stratus.toml."""
    manifest = tomllib.loads((ROOT / "stratus.toml").read_text())
    out = {}
    for name, svc in manifest.get("services", {}).items():
        if svc.get("kind") != "lambda" or (only and name not in only):
            continue
        handler = svc.get("handler") or f"{name.replace('-', '_')}.main.handler"
        out[name] = handler.rsplit(".", 1)[0]
    return out


# gateway and idp check their token key when imported (a missing one fails the cold start, not a request)
ENVIRON = {"PATH": "/usr/bin:/bin", "TOKEN_SIGNING_SECRET": "bench-only-" + "k" * 53}


def measure(module: str, path: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True, text=True, check=True, env={**ENVIRON, "PYTHONPATH": path},
    )  # fmt: skip
    return float(done.stdout) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", help="comma-separated services")
    args = parser.parse_args()
    modules = handler_modules(set(args.only.split(",")) if args.only else None)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bare_app.py").write_text(BARE)
        targets = {"(bare FastAPI + Mangum)": "bare_app", **modules}
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for module in targets.values():  # one warm-up each: the first import compiles .pyc files
            measure(module, tmp)
        for _ in range(args.rounds):
            order = list(targets)
            random.shuffle(order)
            for name in order:
                samples[name].append(measure(targets[name], tmp))
    bare = statistics.median(samples["(bare FastAPI + Mangum)"])
    print(f"cold import, median of {args.rounds} rounds (ms), ratio to the bare app; target <= 1.3x")
    print(f"{'service':26} {'median':>8} {'p90':>8} {'ratio':>7}")
    results = {}
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else med
        ratio = med / bare
        flag = "" if ratio <= 1.3 or name.startswith("(") else "  over target"
        print(f"{name:26} {med:8.1f} {p90:8.1f} {ratio:6.2f}x{flag}")
        results[name] = {"median_ms": med, "p90_ms": p90, "ratio": ratio, "samples_ms": values}
    out = ROOT / "bench" / "results" / f"cold-import-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps({"python": sys.version, "rounds": args.rounds, "results": results}, indent=2))
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
