"""Fuzz each game service's OpenAPI through `stratus dev` with schemathesis, with a larger budget than the tests.

The services' own tests fuzz each app in-process with a small budget; this runs the same checks over HTTP,
through the HTTP API and the gateway's authorizer, signed in: no 5xx (``not_a_server_error``) and no response
outside its documented schema (``response_schema_conformance``, ``status_code_conformance``). Each service's
document is read from the running stack (``/players/openapi.json``, ...).

Expect one kind of report that is not the service's: a path parameter with a control character
(``/players/%1D``) is refused by the HTTP API itself, which answers ``{"message":"Not Found"}`` (API Gateway's
shape; the local cloud refuses such paths on purpose, see ``stratus.local.httpapi.routes``), and schemathesis
checks that answer against the service's error schema. The services' in-process fuzz tests send such values to
the app and get its own 404/422.

    .venv/bin/python bench/fuzz.py                                   # 200 examples per operation, 4 min each at most
    .venv/bin/python bench/fuzz.py --max-examples 1000 --only players
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from stack import running_stack  # noqa: E402

SERVICES = {"players": "/players", "api": "/users", "text": "/texts", "records": "/records"}
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running stack (default: start one)")
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--max-time", type=int, default=240, help="seconds per service")
    parser.add_argument("--only", help="comma-separated services")
    args = parser.parse_args()
    chosen = {n: p for n, p in SERVICES.items() if not args.only or n in args.only.split(",")}
    failed = []
    with running_stack(args.url) as stack:
        for name, path in chosen.items():
            auth = f"x-api-key: {stack.api_key}" if name == "api" else f"authorization: Bearer {stack.token}"
            print(f"== {name}: {stack.url}{path}/openapi.json, {args.max_examples} examples per operation", flush=True)
            done = subprocess.run(
                [sys.executable, "-m", "schemathesis.cli", "run", f"{stack.url}{path}/openapi.json",
                 "--url", f"{stack.url}{path}", "-H", auth, "--checks", CHECKS,
                 "--max-examples", str(args.max_examples), "--max-time", str(args.max_time),
                 "--generation-database", ":memory:"],  # each run fresh: no replay of an earlier run's cases
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                failed.append(name)
    print("failures in: " + ", ".join(failed) if failed else "no failures")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
