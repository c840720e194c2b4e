#!/usr/bin/env python3
"""What the local console costs the HTTP API's request path, measured in process, where wrk's noise cannot hide it.

One route, an integration that answers at once, the access log on (to a discarded stream), and
:meth:`HttpApi.respond` called ``--requests`` times per round in three setups, rounds interleaved:

  off     no recorder (``stratus dev --no-console``)
  closed  the console's recorder and log tap, nobody watching (``stratus dev``, no page open)
  open    the same with one live view subscribed (a page open; its queue is drained as a page would)

Prints the median µs per request of each, and the added µs of ``closed`` and ``open`` over ``off``. Usage:
uv run python bench/console_cost.py [--requests 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from typing import Any

from stratus.events.httpapi import HttpRequest, HttpResponse
from stratus.local.console.recorder import Recorder
from stratus.local.gateway import HttpApi
from stratus.local.httpapi.routes import RouteTable
from stratus.local.logs import LogSink
from stratus.manifest.routes import Route

REQUEST = HttpRequest("GET", "/hello/hello", "", [("host", "127.0.0.1"), ("user-agent", "bench")], b"", "127.0.0.1")


async def hello(request: HttpRequest, match: Any, request_id: str, authorizer: Any = None) -> HttpResponse:
    return HttpResponse(200, [("content-type", "application/json")], b'{"message":"hello"}')


def api(setup: str) -> tuple[HttpApi, Recorder | None]:
    sink = LogSink(io.StringIO(), colour=False, buffered=False)
    recorder = None if setup == "off" else Recorder()
    if recorder is not None:
        sink.tap = recorder.log
    routes = RouteTable((Route("ANY /hello/{proxy+}", "hello"),))
    return HttpApi(routes=routes, integrations={"hello": hello}, sink=sink, recorder=recorder), recorder


async def round_of(setup: str, requests: int) -> float:
    """µs per request over ``requests`` calls."""
    http, recorder = api(setup)
    if setup != "open" or recorder is None:
        started = time.perf_counter()
        for i in range(requests):
            await http.respond(REQUEST, f"{i:015d}=")
        return (time.perf_counter() - started) / requests * 1e6
    with recorder.subscribe() as view:
        started = time.perf_counter()
        for i in range(requests):
            await http.respond(REQUEST, f"{i:015d}=")
            while not view.queue.empty():  # what the page's stream does with each event, minus the socket
                view.queue.get_nowait()
        return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    setups = ("off", "closed", "open")
    figures: dict[str, list[float]] = {s: [] for s in setups}
    await round_of("off", requests // 4)  # warm up
    for _ in range(rounds):
        for setup in setups:
            figures[setup].append(await round_of(setup, requests))
    base = statistics.median(figures["off"])
    print(f"HttpApi.respond, {requests:,} requests x {rounds} rounds, medians (µs per request):")
    for setup in setups:
        value = statistics.median(figures[setup])
        extra = "" if setup == "off" else f"   +{value - base:.2f} µs ({value / base:.3f}x)"
        print(f"  {setup:<7} {value:7.2f}{extra}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
