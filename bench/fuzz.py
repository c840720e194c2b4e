"""Fuzz the services' OpenAPI documents through `stratus dev` with schemathesis, every check, with a larger budget
than the tests: the runs of tests/security/test_openapi_conformance.py (its hooks, relay and reports), 25 examples
per operation instead of 5.

Every check: no 5xx, every status documented, every answer in its schema (body and headers), a 405 with ``Allow``
for a method a path does not have, schema-valid requests accepted and invalid ones refused, the stateful phase
(``POST /jobs`` then ``GET /jobs/{job_id}``, ...). Each service's document is read from the running stack
(``/openapi.json``, ``/auth/openapi.json``, ``/worker/openapi.json``, ...), through the HTTP API, signed in as the
service needs (an API key, or a fresh account's token), from a source address of its own.

By default the gateway, the idp and the worker (those the conformance test covers); ``--only`` also takes the game's
services: players, api, text, records.

A path parameter the local HTTP API does not route (``/worker/jobs/%1D``: a control character, ...) is not
generated: the HTTP API itself answers it with ``{"message":"Not Found"}``, API Gateway's shape (the local cloud
refuses such paths on purpose, see ``stratus.local.httpapi.routes``), which is not the service's to document. The
services' in-process fuzz tests send such values to the app and get its own 404/422.

    .venv/bin/python bench/fuzz.py                                   # 25 examples per operation, ~1-2 min
    .venv/bin/python bench/fuzz.py --max-examples 200 --only worker,players
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from stack import running_stack  # noqa: E402

from tests.security.test_openapi_conformance import SERVICES, SOURCES, Service, credentials, fuzz, relay  # noqa: E402

GAME = (
    Service("players", "/players", "token"),
    Service("api", "/users", "api_key"),
    Service("text", "/texts", "token"),
    Service("records", "/records", "token"),
)
ADDRESSES = {**SOURCES, "players": "127.0.0.94", "api": "127.0.0.95", "text": "127.0.0.96", "records": "127.0.0.97"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running stack (default: start one)")
    parser.add_argument("--api-key", help="an API key of the running stack (default: the one made at its start)")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--only", help="comma-separated services (default: gateway,idp,worker)")
    args = parser.parse_args()
    known = {service.name: service for service in (*SERVICES, *GAME)}
    names = args.only.split(",") if args.only else [service.name for service in SERVICES]
    if unknown := [name for name in names if name not in known]:
        parser.error(f"unknown services: {', '.join(unknown)}; one of {', '.join(known)}")
    failed = []
    with running_stack(args.url) as stack, tempfile.TemporaryDirectory(prefix="stratus-fuzz-") as work:
        for name in names:
            service, source = known[name], ADDRESSES[name]
            print(f"== {name}: {stack.url}{service.path}/openapi.json, {args.max_examples} examples", flush=True)
            headers = credentials(service, stack.url, api_key=args.api_key or stack.api_key, source=source)
            with relay(stack.url, source) as url:
                outcome = fuzz(service, url, headers=headers, examples=args.max_examples, seed=args.seed,
                               work=Path(work))  # fmt: skip
            print(f"   {outcome.generated} cases in {outcome.seconds:.1f} s: ", end="")
            print("no failures" if outcome.passed else "\n" + outcome.report(), flush=True)
            if not outcome.passed:
                failed.append(name)
    print("failures in: " + ", ".join(failed) if failed else "no failures")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
