"""The worker's reliability run at full scale: 5,000 jobs enqueued through the API while every consumer
execution environment is killed with SIGKILL, several times; at the end every job must be done exactly once
in effect (its result right, its status set once) or sit in the DLQ with a reason. Prints the counts.

Run: .venv/bin/python bench/reliability.py [--jobs 5000] [--kills 5]   (from the repository root; ~3 min)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.devstack import DevStack
from tests.e2e.reliability import make_worker_project, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600, help="how long to wait for every job to end")
    parser.add_argument("--function-timeout", type=int, default=4,
                        help="the consumer's timeout and the queue's visibility timeout (s)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = DevStack(make_worker_project(Path(tmp), timeout=args.function_timeout), "--no-access-log")
        try:
            outcome = run(stack, jobs=args.jobs, kills=args.kills, timeout=args.timeout)
        finally:
            stack.stop()
    lost = outcome.jobs - sum(outcome.statuses[s] for s in ("succeeded", "failed"))
    report = {
        "function_timeout_s": args.function_timeout,
        "jobs": outcome.jobs,
        "environments_killed": outcome.kills,
        "statuses": dict(outcome.statuses),
        "wrong_results": len(outcome.wrong_results),
        "dead_letter_reasons": dict(outcome.dead_letter_reasons),
        "lost": lost,
        "seconds": round(outcome.seconds, 1),
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / f"reliability-{time.strftime('%Y-%m-%d')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    if lost or outcome.wrong_results:
        sys.exit(1)


if __name__ == "__main__":
    main()
