"""What route protection costs per request in `stratus dev`: the gateway's Lambda authorizer in front of a
service, p50 at concurrency 1, with the authorizer's result cache off (TTL 0, every request invokes it) and
on (TTL 300 s, keyed on the API key), against the same service unprotected, side by side in one run.

Run: .venv/bin/python bench/authorizer.py [--duration 8]   (from the repository root; needs wrk; ~1 min)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.devstack import DevStack

REPO = Path(__file__).resolve().parents[1]

MANIFEST = """
[project]
name = "authbench"

[api]
authorizer = {{ service = "gateway", handler = "gateway.authorizer.handler", ttl = {ttl}{sources} }}

[services.gateway]
kind = "lambda"
path = "/"
uses = {{ sessions = "read-write", rate_limits = "read-write", api_keys = "read" }}

[services.open]
kind = "lambda"
path = "/open"
source = "services/worker"
handler = "worker.main.handler"
uses = {{ jobs = "send-receive", job-records = "read-write" }}

[services.keyed]
kind = "lambda"
path = "/keyed"
source = "services/worker"
handler = "worker.main.handler"
auth = "api_key"
uses = {{ jobs = "send-receive", job-records = "read-write" }}

[queues.jobs]
[tables.job-records]
hash_key = "job_id"
[tables.sessions]
hash_key = "session_id"
ttl_attribute = "expires_at"
[tables.rate_limits]
hash_key = "limit_key"
ttl_attribute = "expires_at"
[tables.api_keys]
hash_key = "key_id"
ttl_attribute = "expires_at"
"""


def p50_ms(url: str, duration: int, header: str | None = None) -> float:
    argv = ["wrk", "-t1", "-c1", f"-d{duration}s", "--latency", url]
    if header:
        argv[1:1] = ["-H", header]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(ttl: int, duration: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = ', identity_sources = ["$request.header.x-api-key"]' if ttl else ""
        (root / "stratus.toml").write_text(textwrap.dedent(MANIFEST.format(ttl=ttl, sources=sources)))
        for name in ("gateway", "worker"):
            shutil.copytree(REPO / "services" / name, root / "services" / name,
                            ignore=shutil.ignore_patterns("__pycache__", "tests"))  # fmt: skip
        stack = DevStack(root, "--no-access-log")
        try:
            key = subprocess.run([sys.executable, "-m", "stratus", "apikey", "create", "bench"], cwd=root,
                                 capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
            header = f"x-api-key: {key}"
            for _ in range(50):  # warm both paths (and the authorizer's clients)
                stack.client.get("/open/health")
                stack.client.get("/keyed/health", headers={"x-api-key": key})
            assert stack.client.get("/keyed/health", headers={"x-api-key": key}).status_code == 200
            open_p50 = p50_ms(f"{stack.url}/open/health", duration)
            keyed_p50 = p50_ms(f"{stack.url}/keyed/health", duration, header)
            open_again = p50_ms(f"{stack.url}/open/health", duration)
        finally:
            stack.stop()
    baseline = (open_p50 + open_again) / 2
    return {"ttl": ttl, "unprotected_p50_ms": round(baseline, 3), "protected_p50_ms": round(keyed_p50, 3),
            "authorizer_p50_ms": round(keyed_p50 - baseline, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    results = [measure(0, args.duration), measure(300, args.duration)]
    for r in results:
        cache = f"cache TTL {r['ttl']} s" if r["ttl"] else "no cache"
        print(f"{cache:>16}: unprotected p50 {r['unprotected_p50_ms']:.3f} ms, protected p50 "
              f"{r['protected_p50_ms']:.3f} ms, authorizer +{r['authorizer_p50_ms']:.3f} ms")  # fmt: skip
    out = Path(__file__).parent / "results" / f"authorizer-{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
