"""Warm latency of each route of the game's services through `stratus dev` (HTTP API, authorizer, Lambda).

Each route is called ``--warmup`` times (cold starts and first imports out of the way), then ``--requests``
times in a row from one client; the figures are the median and p95 of those, in milliseconds, side by side in
one run. Routes behind a token or an API key include the gateway's authorizer, as in AWS.

    .venv/bin/python bench/routes.py                      # starts the stack in a copy of the project
    .venv/bin/python bench/routes.py --url http://127.0.0.1:8080 --requests 500
    .venv/bin/python bench/routes.py --records 100000     # the leaderboard with 100,000 records in the database

``--records N`` first copies N records (of 2,000 players, bench/records_leaderboard.py's seed) into the started
stack's PostgreSQL, so the leaderboard and history routes are measured on a table of that size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, Stack, running_stack


def routes(stack: Stack, http: httpx.Client) -> list[tuple[str, str, str, dict[str, object]]]:
    """(label, method, path, request kwargs) of each route measured, with what it needs created first."""
    bearer, key = stack.bearer, {"x-api-key": stack.api_key}
    text = http.get("/texts/random", params={"difficulty": "easy"}, headers=bearer).json()
    record = {"player_id": stack.player_id, "text_id": text["text_id"], "wpm": 60, "accuracy": 97,
              "duration_seconds": 30}  # fmt: skip
    http.post("/records", json=record, headers=bearer).raise_for_status()
    user = http.post("/users", json={"name": "Bench", "email": f"b-{uuid.uuid4().hex[:8]}@example.com"}, headers=key)
    user_id = user.json()["user_id"]
    return [
        ("GET /health (gateway, no auth)", "GET", "/health", {}),
        ("GET /players/{id}", "GET", f"/players/{stack.player_id}", {"headers": bearer}),
        ("GET /players?limit=20", "GET", "/players", {"headers": bearer, "params": {"limit": 20}}),
        ("GET /players/{id}/stats", "GET", f"/players/{stack.player_id}/stats", {"headers": bearer}),
        ("GET /users/{id}", "GET", f"/users/{user_id}", {"headers": key}),
        ("GET /users?limit=20", "GET", "/users", {"headers": key, "params": {"limit": 20}}),
        ("GET /texts/random", "GET", "/texts/random", {"headers": bearer, "params": {"difficulty": "medium"}}),
        ("GET /texts/{id}", "GET", f"/texts/{text['text_id']}", {"headers": bearer}),
        ("POST /records", "POST", "/records", {"headers": bearer, "json": record}),
        ("GET /records/leaderboard (week)", "GET", "/records/leaderboard",
         {"headers": bearer, "params": {"difficulty": "medium", "period": "week"}}),
        ("GET /records/leaderboard (all)", "GET", "/records/leaderboard",
         {"headers": bearer, "params": {"difficulty": "medium", "period": "all", "limit": 100}}),
        ("GET /records/players/{id}", "GET", f"/records/players/{stack.player_id}", {"headers": bearer}),
    ]  # fmt: skip


def seed_records(stack: Stack, rows: int) -> None:
    import random

    from records_leaderboard import seed

    from stratus import paths

    url = json.loads(paths.dev_state(stack.root).read_text())["databases"]["records"]
    started = time.perf_counter()
    seed(url, rows, 2000, uniform=False, rng=random.Random(7))
    print(f"seeded {rows:,} records in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running stack (default: start one)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--records", type=int, default=0, help="records to seed first (a started stack only)")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with running_stack(args.url) as stack, httpx.Client(base_url=stack.url, timeout=30) as http:
        if args.records:
            seed_records(stack, args.records)
        for label, method, path, kwargs in routes(stack, http):
            for _ in range(args.warmup):
                http.request(method, path, **kwargs)  # type: ignore[arg-type]
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                answer = http.request(method, path, **kwargs)  # type: ignore[arg-type]
                samples.append((time.perf_counter() - started) * 1000)
                if answer.status_code >= 400:
                    raise SystemExit(f"{label}: {answer.status_code} {answer.text[:300]}")
            results[label] = {"p50_ms": statistics.median(samples),
                              "p95_ms": statistics.quantiles(samples, n=20)[-1]}  # fmt: skip
    print(f"warm latency through stratus dev, {args.requests} requests per route after {args.warmup} warm-up")
    print(f"{'route':34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, figures in results.items():
        print(f"{label:34} {figures['p50_ms']:8.2f} {figures['p95_ms']:8.2f}")
    out = ROOT / "bench" / "results" / f"routes-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps({"requests": args.requests, "warmup": args.warmup, "records": args.records,
                               "results": results}, indent=2))  # fmt: skip
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
