"""Soak: a paced mix of requests through `stratus dev` for many minutes, watching the stack's memory.

One client process offers a fixed rate (open loop: request i is due at start + i / rate, whatever the answers
do) over at most ``--connections`` keep-alive connections; latency runs from each request's *scheduled* time, so a
stalled server shows as latency, not as a lower offered rate (no coordinated omission). The mix:

  job       POST /worker/jobs (API key) -> SQS -> the worker's consumer Lambda      --job-share of the requests
  unrouted  GET /soak-no-such-route/<n> -> the gateway's JSON 404                    --unrouted-rate req/s
  and, in equal parts, the rest:
  health    GET /health (the gateway, no auth)
  players   GET /players/{id} (token: the gateway's authorizer, then players)
  texts     GET /texts/random (token)
  users     GET /users?limit=20 (API key)
  web       GET /web/ or /web/api/data (the container service)

(the gateway rate-limits its own routes to 100 a minute per principal, so unrouted paths, all from 127.0.0.1, stay
at a fixed rate below that). Every minute a row: offered and served req/s, errors (an unexpected status or a
transport error, by kind), p50/p99 in ms, the Lambda execution environments (processes) and the RSS of the whole
stack in MB: `stratus dev` itself, the embedded AWS (moto), PostgreSQL (a daemon: found by its data directory),
the Lambda environments, the containers, anything else `stratus dev` started. At the end: totals, the RSS growth
from the end of minute ``--warm-minutes`` to the end, per kind and per process (MB a minute), and the verdict
against the target "0 errors and RSS growth < 10% once warm"; everything, each process's RSS each minute included,
goes to bench/results/soak-<date>.json.

    .venv/bin/python bench/soak.py --minutes 3                        # starts the stack in a copy of the project
    .venv/bin/python bench/soak.py --minutes 12 --rate 100
    .venv/bin/python bench/soak.py --url http://127.0.0.1:8080 --api-key stk_...   # a running stack
    .venv/bin/python bench/soak.py --minutes 12 --trace-memory        # + tracemalloc in stratus dev and moto

``--trace-memory`` starts `stratus dev` with a sitecustomize (generated under the results' work directory) that
runs tracemalloc in the `stratus dev` and moto processes (from 20 s after each starts: traced imports would be
too slow for the stack's start-up limits) and writes a snapshot, the gc object counts and the asyncio task count
every minute; the report compares the snapshot at the end of the warm-up with the last one.
tracemalloc makes those processes slower: compare figures of runs without it.

Only 127.0.0.1 is targeted. Ctrl-C or SIGTERM stops the load, writes what was measured and stops the stack
(SIGTERM to its process group, SIGKILL after 30 s to whatever is left of it, PostgreSQL included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
STRATUS = [sys.executable, "-m", "stratus"]
KINDS = ("dev", "aws", "postgres", "lambda", "container", "other")
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
PASSWORD = "a long enough soak passphrase"
SAMPLE_EVERY_S = 10.0
TOKEN_RENEW_S = 600.0  # access tokens last 15 minutes
MAX_MINUTES = 240
MAX_RATE = 2000.0

# --- processes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start: int  # clock ticks after boot: with the pid, identifies the process
    ticks: int  # user + system CPU, its own and its reaped children's
    kind: str = "other"
    label: str = ""
    rss_kb: int = 0
    anon_kb: int = 0
    pss_kb: int = 0  # proportional set size: shared pages divided among the processes that map them


def parse_stat(text: str) -> tuple[int, int, int]:
    """(ppid, start time, CPU ticks incl. reaped children) from the text of /proc/<pid>/stat."""
    f = text.rsplit(")", 1)[1].split()  # f[0] is field 3 of proc(5), the state
    return int(f[1]), int(f[19]), sum(map(int, f[11:15]))


def parse_status(text: str) -> tuple[int, int]:
    """(VmRSS, RssAnon) in kB from the text of /proc/<pid>/status; 0 for a kernel thread or a zombie."""
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("RssAnon", 0)


def classify(cmdline: list[str], *, is_dev: bool, in_postgres: bool, cwd: str, root: str) -> tuple[str, str]:
    """(kind, label) of one process of the stack."""
    joined = " ".join(cmdline)
    if is_dev:
        return "dev", "stratus dev"
    if in_postgres:
        title = joined if joined.startswith("postgres:") else "postmaster"
        return "postgres", title.split("(")[0].strip()[:60]
    if "stratus.local.aws_server" in joined:
        return "aws", "moto server"
    if "stratus.local.runtime.bootstrap" in joined or "awslambdaric" in joined:
        return "lambda", cmdline[-1] if cmdline else "?"
    services = os.path.join(root, "services") + os.sep
    if root and cwd.startswith(services):
        return "container", cwd[len(services) :].split(os.sep)[0]
    return "other", joined[:80]


def parse_pss(text: str) -> int:
    """Pss in kB from the text of /proc/<pid>/smaps_rollup (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def all_stats() -> dict[int, tuple[int, int, int]]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[int(name)] = parse_stat(_read(f"/proc/{name}/stat"))
    return out


def postgres_pids(root: Path) -> list[int]:
    """The postmasters of the stack's databases (daemons: not descendants of `stratus dev`)."""
    pids = []
    for pidfile in (root / ".stratus" / "postgres").glob("*/postmaster.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.append(int(pidfile.read_text().split()[0]))
    return pids


def descendants(roots: list[int], stats: dict[int, tuple[int, int, int]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = [], [p for p in roots if p in stats]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo += children.get(pid, [])
    return seen


def stack_processes(dev_pid: int, root: Path) -> list[Proc]:
    """Every process of the stack now, classified, with its RSS."""
    stats = all_stats()
    pg = set(descendants(postgres_pids(root), stats))
    out = []
    try:
        dev_cmdline = _read(f"/proc/{dev_pid}/cmdline")
    except OSError:
        dev_cmdline = ""
    for pid in descendants([dev_pid, *sorted(pg)], stats):
        ppid, start, ticks = stats[pid]
        try:
            raw = _read(f"/proc/{pid}/cmdline")
            rss, anon = parse_status(_read(f"/proc/{pid}/status"))
            pss = parse_pss(_read(f"/proc/{pid}/smaps_rollup"))
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone meanwhile
            continue
        if pid != dev_pid and raw == dev_cmdline:
            continue  # `stratus dev` forked, about to exec a process: its pages are the parent's, not counted twice
        cmdline = raw.split("\0")[:-1]
        kind, label = classify(cmdline, is_dev=pid == dev_pid, in_postgres=pid in pg, cwd=cwd, root=str(root))
        out.append(Proc(pid, ppid, start, ticks, kind, label, rss, anon, pss))
    return out


def by_kind(procs: list[Proc]) -> dict[str, float]:
    """RSS in MB per kind, plus 'total'."""
    mb = dict.fromkeys(KINDS, 0.0)
    for p in procs:
        mb[p.kind] += p.rss_kb / 1024
    mb["total"] = sum(mb[k] for k in KINDS)
    return mb


def cpu_by_kind(before: list[Proc], after: list[Proc], seconds: float) -> dict[str, float]:
    """CPU used meanwhile per kind, in % of one core (a process that ended meanwhile is counted by its parent's
    reaped-children ticks when its parent is in the stack)."""
    old = {(p.pid, p.start): p.ticks for p in before}
    pct = dict.fromkeys(KINDS, 0.0)
    for p in after:
        pct[p.kind] += (p.ticks - old.get((p.pid, p.start), 0)) * TICK_S
    return {k: round(100 * v / seconds, 1) for k, v in pct.items()} if seconds > 0 else pct


def listening_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:``port`` (from /proc/net/tcp and the processes' descriptors)."""
    inode = None
    for line in _read("/proc/net/tcp").splitlines()[1:]:
        f = line.split()
        local, state = f[1], f[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            inode = f[9]
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{name}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{name}/fd/{fd}") == target:
                            return int(name)
    return None


# --- statistics --------------------------------------------------------------------------------------------


def percentile(ordered: list[float] | array[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(len(ordered) * p / 100))
    return float(ordered[rank - 1])


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (x, y) points."""
    if len(points) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else None


def growth(rows: list[dict[str, Any]], warm: int) -> dict[str, Any]:
    """RSS growth per kind from the end of minute ``warm`` to the last row: MB, %, MB a minute (least squares over
    those minutes); the environments then and at the end."""
    base = next((r for r in rows if r["minute"] == warm), None)
    last = rows[-1] if rows else None
    if base is None or last is None or last is base:
        return {}
    span = [r for r in rows if r["minute"] >= warm]
    out: dict[str, Any] = {"from_minute": warm, "to_minute": last["minute"], "kinds": {}}
    for kind in (*KINDS, "total"):
        a, b = base["rss_mb"][kind], last["rss_mb"][kind]
        per_min = slope([(r["minute"], r["rss_mb"][kind]) for r in span])
        out["kinds"][kind] = {
            "from_mb": round(a, 1),
            "to_mb": round(b, 1),
            "growth_mb": round(b - a, 1),
            "growth_pct": round(100 * (b - a) / a, 1) if a else None,
            "mb_per_minute": round(per_min, 2) if per_min is not None else None,
        }
    if base.get("pss_mb"):
        a, b = base["pss_mb"], last["pss_mb"]
        out["pss"] = {"from_mb": a, "to_mb": b, "growth_pct": round(100 * (b - a) / a, 1)}
    out["environments"] = {"from": base["environments"], "to": last["environments"],
                           "max": max(r["environments_max"] for r in rows)}  # fmt: skip
    return out


def process_growth(rows: list[dict[str, Any]], warm: int, top: int = 12) -> list[dict[str, Any]]:
    """The processes alive from the end of minute ``warm`` to the end, by RSS growth (MB a minute)."""
    span = [r for r in rows if r["minute"] >= warm]
    if len(span) < 2:
        return []
    series: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    labels: dict[tuple[int, int], tuple[str, str]] = {}
    for r in span:
        for p in r["processes"]:
            key = (p["pid"], p["start"])
            series.setdefault(key, []).append((r["minute"], p["rss_kb"] / 1024, p["anon_kb"] / 1024))
            labels[key] = (p["kind"], p["label"])
    out: list[dict[str, Any]] = []
    for key, points in series.items():
        if len(points) != len(span):
            continue  # not alive the whole time
        per_min = slope([(m, rss) for m, rss, _ in points]) or 0.0
        out.append({
            "pid": key[0], "kind": labels[key][0], "label": labels[key][1],
            "from_mb": round(points[0][1], 1), "to_mb": round(points[-1][1], 1),
            "anon_from_mb": round(points[0][2], 1), "anon_to_mb": round(points[-1][2], 1),
            "mb_per_minute": round(per_min, 2),
        })  # fmt: skip
    out.sort(key=lambda p: p["mb_per_minute"], reverse=True)
    return out[:top]


def verdict(errors: int, total_growth_pct: float | None) -> str:
    if total_growth_pct is None:
        return "no verdict: the run ended before the warm-up did"
    ok = errors == 0 and total_growth_pct < 10
    return (
        f"{'MET' if ok else 'MISSED'}: {errors} errors (target 0), RSS growth once warm {total_growth_pct:+.1f}% "
        "(target < 10%)"
    )


# --- the mix -----------------------------------------------------------------------------------------------

EXPECTED = {"health": 200, "players": 200, "texts": 200, "users": 200, "job": 202, "web": 200, "unrouted": 404}
EVEN = ("health", "players", "texts", "users", "web")


@dataclass
class Mix:
    """Which request each slot of the schedule is: unrouted ones at a fixed rate, jobs a share of the rest,
    the others in equal parts, in a random (seeded) order."""

    rate: float
    job_share: float
    unrouted_rate: float
    rng: random.Random = field(default_factory=lambda: random.Random(20))

    def __post_init__(self) -> None:
        self.unrouted_share = min(1.0, self.unrouted_rate / self.rate) if self.rate else 0.0

    def pick(self) -> str:
        x = self.rng.random()
        if x < self.unrouted_share:
            return "unrouted"
        x = (x - self.unrouted_share) / (1 - self.unrouted_share) if self.unrouted_share < 1 else 0.0
        if x < self.job_share:
            return "job"
        return EVEN[min(len(EVEN) - 1, int((x - self.job_share) / (1 - self.job_share) * len(EVEN)))]


@dataclass
class Credentials:
    token: str = ""
    api_key: str = ""
    player_id: str = ""
    username: str = ""


def request_for(kind: str, n: int, creds: Credentials) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx keyword arguments) of request number ``n`` of ``kind``."""
    bearer = {"authorization": f"Bearer {creds.token}"}
    key = {"x-api-key": creds.api_key}
    if kind == "health":
        return "GET", "/health", {}
    if kind == "players":
        return "GET", f"/players/{creds.player_id}", {"headers": bearer}
    if kind == "texts":
        return "GET", "/texts/random", {"headers": bearer, "params": {"difficulty": ("easy", "medium", "hard")[n % 3]}}
    if kind == "users":
        return "GET", "/users", {"headers": key, "params": {"limit": 20}}
    if kind == "job":
        body = (
            {"type": "sum", "payload": {"numbers": [n, 1, 2.5]}}
            if n % 2
            else {"task": "process_data", "payload": {"n": n}}
        )
        return "POST", "/worker/jobs", {"headers": key, "json": body}
    if kind == "web":
        return "GET", ("/web/", "/web/api/data")[n % 2], {}
    if kind == "unrouted":
        return "GET", f"/soak-no-such-route/{n}", {}
    raise ValueError(kind)


# --- one minute's figures ----------------------------------------------------------------------------------


@dataclass
class Window:
    scheduled: int = 0
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    kind_latencies: dict[str, list[float]] = field(default_factory=dict)
    max_lag_ms: float = 0.0  # how late the client sent a request (its own lag, not the server's)


def error_key(kind: str, status: int | None, exc: BaseException | None) -> str | None:
    """None when the answer is the expected one; else what went wrong, e.g. ``job 503`` or ``web ReadTimeout``."""
    if exc is not None:
        return f"{kind} {type(exc).__name__}"
    if status != EXPECTED[kind]:
        return f"{kind} {status}"
    return None


# --- the stack ---------------------------------------------------------------------------------------------


@dataclass
class Stack:
    url: str
    dev_pid: int
    root: Path
    proc: subprocess.Popen[bytes] | None = None  # started here
    log: Path | None = None


def _trace_sitecustomize(directory: Path, every: float) -> Path:
    """A sitecustomize that runs tracemalloc in `stratus dev` and the moto server (by their command lines) and
    writes a snapshot, gc counts and the asyncio task count every ``every`` seconds to ``directory``."""
    site = directory / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(f"""
import os as _os
def _soak_trace():
    try:
        cmd = open("/proc/self/cmdline", "rb").read().split(b"\\0")
    except OSError:
        return
    text = b" ".join(cmd)
    if b"stratus.local.aws_server" in text:
        role = "aws"
    elif b"-m stratus dev" in text:
        role = "dev"
    else:
        return
    import gc, json, sys, threading, time, tracemalloc
    out = {str(directory)!r}
    def dump():
        time.sleep(20)  # traced from here: tracing the imports of startup would slow them past its time limits
        tracemalloc.start(12)
        n = 0
        while True:
            time.sleep({every})
            n += 1
            snap = tracemalloc.take_snapshot().filter_traces((
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
                tracemalloc.Filter(False, "<unknown>")))
            snap.dump(f"{{out}}/{{role}}-{{_os.getpid()}}-{{n:03d}}.snap")
            counts = {{}}
            for o in gc.get_objects():
                t = type(o)
                name = str(t.__module__) + "." + t.__qualname__
                counts[name] = counts.get(name, 0) + 1
            try:
                import asyncio.tasks as at
                tasks = len(at._all_tasks)
            except Exception:
                tasks = -1
            top = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:200])
            info = {{"n": n, "time": time.time(), "traced": tracemalloc.get_traced_memory(), "tasks": tasks,
                    "threads": threading.active_count(), "gc_objects": top}}
            with open(f"{{out}}/{{role}}-{{_os.getpid()}}-{{n:03d}}.json", "w") as f:
                json.dump(info, f)
    threading.Thread(target=dump, name="soak-trace", daemon=True).start()
_soak_trace()
""")
    return site


def start_stack(work: Path, trace_dir: Path | None) -> Stack:
    """`stratus dev` for the repository's stack in a copy of the project (as bench/stack.py does), in its own
    session; returns once it says ready."""
    root = work / "project"
    root.mkdir()
    shutil.copy(ROOT / "stratus.toml", root / "stratus.toml")
    for part in ("services", "libs"):
        shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    port = free_port()
    env = dict(os.environ)
    if trace_dir is not None:
        site = _trace_sitecustomize(trace_dir, 60.0)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    log = work / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*STRATUS, "dev", "--port", str(port), "--invoke-port", str(free_port()), "--no-access-log"],
            cwd=root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
        )  # fmt: skip
    stack = Stack(f"http://127.0.0.1:{port}", proc.pid, root, proc, log)
    deadline = time.monotonic() + 180
    while "ready in" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            stop_stack(stack)
            raise RuntimeError(f"stratus dev did not start:\n{tail}")
        time.sleep(0.1)
    return stack


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_stack(stack: Stack) -> None:
    """SIGTERM to `stratus dev`'s process group (it stops its parts); after 30 s SIGKILL to what is left of the
    stack's processes, PostgreSQL and the environments (in sessions of their own) included."""
    proc = stack.proc
    if proc is None:
        return
    left = [(p.pid, p.start) for p in stack_processes(stack.dev_pid, stack.root)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    stats = all_stats()
    for pid, start in left:
        if pid in stats and stats[pid][1] == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def sign_in(url: str, root: Path | None, api_key: str | None) -> Credentials:
    """A new player with a token (register, password grant, profile), and an API key (`stratus apikey create` in
    the project, unless given)."""
    import httpx

    creds = Credentials(username=f"soak-{uuid.uuid4().hex[:8]}")
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
        registered = http.post("/auth/register", json={"username": creds.username, "password": PASSWORD})
        registered.raise_for_status()
        creds.player_id = registered.json()["sub"]
        creds.token = fresh_token(http, creds.username)
        created = http.post(
            "/players", json={"display_name": "Soak"}, headers={"authorization": f"Bearer {creds.token}"}
        )
        created.raise_for_status()
    if api_key:
        creds.api_key = api_key
    elif root is not None:
        done = subprocess.run([*STRATUS, "apikey", "create", f"soak-{uuid.uuid4().hex[:6]}"], cwd=root,
                              capture_output=True, text=True, check=True)  # fmt: skip
        creds.api_key = done.stdout.strip()
    else:
        raise SystemExit("--api-key is needed with --url (or --root, the running stack's project)")
    return creds


def fresh_token(http: Any, username: str) -> str:
    answer = http.post("/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


# --- the run -----------------------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace, stack: Stack, creds: Credentials) -> None:
        self.args = args
        self.stack = stack
        self.creds = creds
        self.mix = Mix(args.rate, args.job_share, args.unrouted_rate, random.Random(args.seed))
        self.window = Window()
        self.all_latencies: array[float] = array("d")
        self.totals: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.rows: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.queue: asyncio.Queue[tuple[float, str, int]] | None = None
        self.busy = 0  # requests being sent or answered
        self.max_queued = int(max(1000, args.rate * 60))  # waiting for a connection: a minute's worth at most
        self.env_max = 0
        self.token_renewals = 0

    async def worker(self, http: Any, queue: asyncio.Queue[tuple[float, str, int]]) -> None:
        """One of ``--connections`` senders: at most one request in flight each, so the client never queues inside
        httpx's pool (which costs O(waiters) per request); a request waits in ``queue`` instead, and that wait is
        part of its latency."""
        while True:
            due, kind, n = await queue.get()
            method, path, kwargs = request_for(kind, n, self.creds)
            status, exc = None, None
            self.busy += 1
            try:
                answer = await http.request(method, path, **kwargs)
                status = answer.status_code
            except asyncio.CancelledError:
                raise
            except Exception as e:  # transport errors, timeouts: counted by their class
                exc = e
            finally:
                self.busy -= 1
            latency = (time.monotonic() - due) * 1000
            w = self.window
            w.completed += 1
            w.by_kind[kind] += 1
            if status is not None:
                w.latencies.append(latency)
                w.kind_latencies.setdefault(kind, []).append(latency)
            problem = error_key(kind, status, exc)
            if problem:
                w.errors[problem] += 1

    async def drive(self, queue: asyncio.Queue[tuple[float, str, int]], until: float) -> None:
        """Queue the schedule's requests when they are due until ``until`` (monotonic)."""
        n = 0
        start = self.t0
        interval = 1 / self.args.rate
        while True:
            due = start + n * interval
            if due >= until:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif n % 16 == 0:  # behind: still let the answers be read
                await asyncio.sleep(0)
            lag = (time.monotonic() - due) * 1000
            self.window.max_lag_ms = max(self.window.max_lag_ms, lag)
            kind = self.mix.pick()
            self.window.scheduled += 1
            if queue.qsize() >= self.max_queued:
                self.window.errors[f"{kind} client-backlog"] += 1
            else:
                queue.put_nowait((due, kind, n))
            n += 1

    async def renew_token(self) -> None:
        while True:
            await asyncio.sleep(TOKEN_RENEW_S)
            with contextlib.suppress(Exception):
                self.creds.token = await asyncio.to_thread(self._new_token)
                self.token_renewals += 1

    def _new_token(self) -> str:
        import httpx

        with httpx.Client(base_url=self.stack.url, timeout=30, trust_env=False) as sync:
            return fresh_token(sync, self.creds.username)

    async def watch(self) -> None:
        """Every SAMPLE_EVERY_S: the environments and RSS (for the minute's maximum and the curve)."""
        while True:
            procs = await asyncio.to_thread(stack_processes, self.stack.dev_pid, self.stack.root)
            envs = sum(1 for p in procs if p.kind == "lambda")
            self.env_max = max(self.env_max, envs)
            self.samples.append({"t": round(time.monotonic() - self.t0, 1), "environments": envs,
                                 "rss_mb": {k: round(v, 1) for k, v in by_kind(procs).items()}})  # fmt: skip
            await asyncio.sleep(SAMPLE_EVERY_S)

    def close_minute(self, minute: int, procs: list[Proc], before: list[Proc], cpu_self: float) -> dict[str, Any]:
        w, self.window = self.window, Window()
        ordered = sorted(w.latencies)
        self.all_latencies.extend(ordered)
        self.totals.update({"scheduled": w.scheduled, "completed": w.completed})
        self.totals.update(w.by_kind)
        self.errors.update(w.errors)
        envs = [p for p in procs if p.kind == "lambda"]
        row = {
            "minute": minute,
            "offered_rps": round(w.scheduled / 60, 1),
            "served_rps": round(w.completed / 60, 1),
            "errors": sum(w.errors.values()),
            "error_kinds": dict(w.errors.most_common()),
            "p50_ms": _round(percentile(ordered, 50)),
            "p99_ms": _round(percentile(ordered, 99)),
            "p50_ms_by_kind": {k: _round(percentile(sorted(v), 50)) for k, v in sorted(w.kind_latencies.items())},
            "client_max_lag_ms": round(w.max_lag_ms, 1),
            "client_cpu_pct": round(cpu_self, 1),
            "environments": len(envs),
            "environments_max": max(self.env_max, len(envs)),
            "environments_by_handler": dict(Counter(p.label for p in envs).most_common()),
            "inflight": self.busy + (self.queue.qsize() if self.queue else 0),
            "rss_mb": {k: round(v, 1) for k, v in by_kind(procs).items()},
            "anon_mb": {k: round(sum(p.anon_kb for p in procs if p.kind == k) / 1024, 1) for k in KINDS},
            "pss_mb": round(sum(p.pss_kb for p in procs) / 1024, 1),
            "cpu_pct": cpu_by_kind(before, procs, 60.0),
            "processes": [
                {
                    "pid": p.pid,
                    "start": p.start,
                    "kind": p.kind,
                    "label": p.label,
                    "rss_kb": p.rss_kb,
                    "anon_kb": p.anon_kb,
                }
                for p in procs
            ],
        }
        self.env_max = 0
        return row

    async def run(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=self.args.connections, max_keepalive_connections=self.args.connections)
        timeout = httpx.Timeout(self.args.timeout, pool=self.args.timeout)
        async with httpx.AsyncClient(base_url=self.stack.url, limits=limits, timeout=timeout, trust_env=False) as http:
            queue = self.queue = asyncio.Queue()
            self.t0 = time.monotonic() + 0.1
            end = self.t0 + 60 * self.args.minutes
            workers = [asyncio.create_task(self.worker(http, queue)) for _ in range(self.args.connections)]
            helpers = [asyncio.create_task(self.watch()), asyncio.create_task(self.renew_token())]
            driver = asyncio.create_task(self.drive(queue, end))
            print_header()
            before = await asyncio.to_thread(stack_processes, self.stack.dev_pid, self.stack.root)
            cpu0 = _self_cpu()
            try:
                for minute in range(1, self.args.minutes + 1):
                    await asyncio.sleep(max(0.0, self.t0 + 60 * minute - time.monotonic()))
                    procs = await asyncio.to_thread(stack_processes, self.stack.dev_pid, self.stack.root)
                    cpu1 = _self_cpu()
                    row = self.close_minute(minute, procs, before, 100 * (cpu1 - cpu0) / 60)
                    before, cpu0 = procs, cpu1
                    self.rows.append(row)
                    print_row(row)
                await driver
                # what is still queued or in flight gets --timeout to finish: in the totals, not in the minutes
                deadline = time.monotonic() + self.args.timeout + 1
                while (queue.qsize() or self.busy) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                w = self.window
                self.totals.update({"completed_after_end": w.completed})
                self.errors.update(w.errors)
                self.all_latencies.extend(sorted(w.latencies))
                if queue.qsize() + self.busy:
                    self.errors["unfinished at the end"] += queue.qsize() + self.busy
            finally:
                for task in (driver, *workers, *helpers):
                    task.cancel()
                await asyncio.gather(driver, *workers, *helpers, return_exceptions=True)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- report ------------------------------------------------------------------------------------------------

COLUMNS = ("min", "offered", "served", "errors", "p50 ms", "p99 ms", "envs", "dev", "aws", "pg", "lambda", "web",
           "other", "total MB", "PSS MB")  # fmt: skip


def row_cells(row: dict[str, Any]) -> list[str]:
    rss = row["rss_mb"]
    envs = f"{row['environments']} ({row['environments_max']})"
    cells = [str(row["minute"]), f"{row['offered_rps']:.1f}", f"{row['served_rps']:.1f}", str(row["errors"]),
             _fmt(row["p50_ms"]), _fmt(row["p99_ms"]), envs]  # fmt: skip
    cells += [f"{rss[k]:.0f}" for k in ("dev", "aws", "postgres", "lambda", "container", "other")]
    return [*cells, f"{rss['total']:.0f}", f"{row.get('pss_mb', 0):.0f}"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


WIDTHS = (4, 8, 7, 7, 8, 8, 8, 6, 6, 5, 7, 5, 6, 9, 7)


def print_header() -> None:
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, WIDTHS, strict=True)), flush=True)


def print_row(row: dict[str, Any]) -> None:
    line = "  ".join(c.rjust(w) for c, w in zip(row_cells(row), WIDTHS, strict=True))
    if row["error_kinds"]:
        line += "   " + ", ".join(f"{k}: {v}" for k, v in list(row["error_kinds"].items())[:4])
    print(line, flush=True)


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print_header()
        for row in rows:
            print_row(row)
        return
    table = Table(title=title)
    for name in COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row_cells(row))
    console = Console()
    if not console.is_terminal:
        console.width = 140
    console.print(table)


def analyse_traces(directory: Path, warm: int, top: int = 25) -> dict[str, Any]:
    """Per traced process: the top allocation sites by growth between snapshot ``warm`` and the last one, and the
    gc object counts that grew most."""
    import tracemalloc

    out: dict[str, Any] = {}
    for role_pid in sorted({p.name.rsplit("-", 1)[0] for p in directory.glob("*.snap")}):
        snaps = sorted(directory.glob(f"{role_pid}-*.snap"))
        if len(snaps) < 2:
            continue
        first = next((s for s in snaps if s.stem.endswith(f"-{warm:03d}")), snaps[0])
        last = snaps[-1]
        a, b = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
        by_line = b.compare_to(a, "lineno")[:top]
        by_trace = b.compare_to(a, "traceback")[:8]
        ja, jb = (json.loads(s.with_suffix(".json").read_text()) for s in (first, last))
        counts = {k: (ja["gc_objects"].get(k, 0), v) for k, v in jb["gc_objects"].items()}
        grown = sorted(counts.items(), key=lambda kv: kv[1][0] - kv[1][1])[:25]
        out[role_pid] = {
            "from": first.name, "to": last.name,
            "traced_mb": [round(ja["traced"][0] / 2**20, 1), round(jb["traced"][0] / 2**20, 1)],
            "asyncio_tasks": [ja["tasks"], jb["tasks"]], "threads": [ja["threads"], jb["threads"]],
            "top_lines": [{"where": str(s.traceback[0]), "size_diff_kb": round(s.size_diff / 1024, 1),
                           "size_kb": round(s.size / 1024, 1), "count_diff": s.count_diff} for s in by_line],
            "top_tracebacks": [{"size_diff_kb": round(s.size_diff / 1024, 1), "count_diff": s.count_diff,
                                "traceback": [str(f) for f in s.traceback][-12:]} for s in by_trace],
            "gc_objects_grown": [{"type": k, "from": v[0], "to": v[1]} for k, v in grown if v[1] > v[0]],
        }  # fmt: skip
    return out


def output_path() -> Path:
    stem = f"soak-{datetime.now():%Y-%m-%d}"
    path, n = RESULTS / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = RESULTS / f"{stem}-{n}.json"
    return path


def report(soak: Soak, args: argparse.Namespace, interrupted: bool, trace_dir: Path | None) -> dict[str, Any]:
    rows = soak.rows
    lat = array("d", sorted(soak.all_latencies))
    errors = sum(soak.errors.values())
    grown = growth(rows, args.warm_minutes)
    total_pct = grown.get("kinds", {}).get("total", {}).get("growth_pct") if grown else None
    minutes = len(rows) or 1
    summary = {
        "minutes": len(rows),
        "interrupted": interrupted,
        "scheduled": soak.totals["scheduled"],
        "completed": soak.totals["completed"] + soak.totals["completed_after_end"],
        "served_rps": round(soak.totals["completed"] / (60 * minutes), 1),
        "by_request": {k: soak.totals[k] for k in EXPECTED},
        "errors": errors,
        "error_kinds": dict(soak.errors.most_common()),
        "p50_ms": _round(percentile(lat, 50)),
        "p99_ms": _round(percentile(lat, 99)),
        "p999_ms": _round(percentile(lat, 99.9)),
        "token_renewals": soak.token_renewals,
        "growth": grown,
        "growing_processes": process_growth(rows, args.warm_minutes),
        "verdict": verdict(errors, total_pct),
    }
    if trace_dir is not None:
        summary["tracemalloc"] = analyse_traces(trace_dir, args.warm_minutes)
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print(f"\n{summary['minutes']} minutes: {summary['scheduled']:,} requests offered, {summary['completed']:,} "
          f"answered ({summary['served_rps']} req/s), p50 {_fmt(summary['p50_ms'])} ms, p99 {_fmt(summary['p99_ms'])} "
          f"ms, {summary['errors']} errors")  # fmt: skip
    for kind, count in list(summary["error_kinds"].items())[:10]:
        print(f"  {count:6d}  {kind}")
    g = summary["growth"]
    if g:
        envs = g["environments"]
        print(f"RSS from the end of minute {g['from_minute']} to minute {g['to_minute']} (environments "
              f"{envs['from']} -> {envs['to']}, max {envs['max']}):")  # fmt: skip
        for kind, k in g["kinds"].items():
            pct = "-" if k["growth_pct"] is None else f"{k['growth_pct']:+.1f}%"
            per_min = "-" if k["mb_per_minute"] is None else f"{k['mb_per_minute']:+.2f} MB/min"
            print(f"  {kind:10} {k['from_mb']:8.1f} -> {k['to_mb']:8.1f} MB  {pct:>8}  {per_min}")
        if "pss" in g:
            pss = g["pss"]
            print(f"  PSS        {pss['from_mb']:8.1f} -> {pss['to_mb']:8.1f} MB  {pss['growth_pct']:+7.1f}%  (shared "
                  "pages counted once: the stack's real memory)")  # fmt: skip
    if summary["growing_processes"]:
        print("processes alive throughout, by growth:")
        for p in summary["growing_processes"][:8]:
            anon = f"(anon {p['anon_from_mb']:.1f} -> {p['anon_to_mb']:.1f})"
            print(f"  {p['pid']:>7} {p['kind']:9} {p['label'][:34]:34} {p['from_mb']:7.1f} -> {p['to_mb']:7.1f} MB "
                  f"{anon}  {p['mb_per_minute']:+.2f} MB/min")  # fmt: skip
    for role, t in summary.get("tracemalloc", {}).items():
        print(f"tracemalloc {role} ({t['from']} -> {t['to']}): traced {t['traced_mb'][0]} -> {t['traced_mb'][1]} MB,"
              f" asyncio tasks {t['asyncio_tasks']}, threads {t['threads']}")  # fmt: skip
        for line in t["top_lines"][:10]:
            print(f"  {line['size_diff_kb']:+10.1f} kB {line['count_diff']:+8d}  {line['where']}")
    print(summary["verdict"])


# --- main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running stack on 127.0.0.1 (default: start one in a copy of the project)")
    p.add_argument("--root", type=Path, help="with --url: its project directory (default: the cwd of its process)")
    p.add_argument("--api-key", help="with --url: an API key of that stack (default: one created in --root)")
    p.add_argument("--rate", type=float, default=100.0, help="offered requests per second (default 100)")
    p.add_argument("--connections", type=int, default=32, help="at most this many connections (default 32)")
    p.add_argument("--minutes", type=int, default=30, help="duration (default 30)")
    p.add_argument("--warm-minutes", type=int, default=3, help="growth is measured from the end of this minute")
    p.add_argument("--job-share", type=float, default=0.2, help="share of the requests that submit a job (0.2)")
    p.add_argument(
        "--unrouted-rate",
        type=float,
        default=1.0,
        help="req/s to unrouted paths, 404 (default 1; the gateway allows 100 a minute per IP)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take (default 30)")
    p.add_argument("--seed", type=int, default=20)
    p.add_argument("--trace-memory", action="store_true", help="tracemalloc in `stratus dev` and moto (slower)")
    p.add_argument("--output", type=Path, help="results JSON (default bench/results/soak-<date>.json)")
    args = p.parse_args(argv)
    if not 0 < args.rate <= MAX_RATE:
        p.error(f"--rate must be in (0, {MAX_RATE:.0f}]")
    if not 1 <= args.connections <= 32:
        p.error("--connections must be 1 to 32")
    if not 1 <= args.minutes <= MAX_MINUTES:
        p.error(f"--minutes must be 1 to {MAX_MINUTES}")
    if not 0 <= args.job_share <= 1:
        p.error("--job-share must be in [0, 1]")
    if args.url:
        host = urlsplit(args.url).hostname
        if host != "127.0.0.1":
            p.error("--url must be on 127.0.0.1")
        if args.trace_memory:
            p.error("--trace-memory needs a stack started here")
    return args


def attach(url: str, root: Path | None) -> Stack:
    port = urlsplit(url).port or 80
    pid = listening_pid(port)
    if pid is None:
        raise SystemExit(f"nothing listens on 127.0.0.1:{port}")
    return Stack(url.rstrip("/"), pid, root or Path(os.readlink(f"/proc/{pid}/cwd")))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the stack is stopped whatever happens
        signal.signal(sig, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="stratus-soak-"))
    trace_dir = work / "trace" if args.trace_memory else None
    if trace_dir is not None:
        trace_dir.mkdir()
    stack: Stack | None = None
    soak: Soak | None = None
    interrupted = False
    started = datetime.now().astimezone()
    try:
        if args.url:
            stack = attach(args.url, args.root)
        else:
            print("starting stratus dev in a copy of the project ...", flush=True)
            stack = start_stack(work, trace_dir)
        creds = sign_in(stack.url, stack.root, args.api_key)
        print(f"stack {stack.url} (pid {stack.dev_pid}, {stack.root}); {args.rate:g} req/s over {args.connections} "
              f"connections for {args.minutes} min, jobs {args.job_share:.0%}, unrouted {args.unrouted_rate:g}/s",
              flush=True)  # fmt: skip
        soak = Soak(args, stack, creds)
        loop = asyncio.new_event_loop()
        main_task = loop.create_task(soak.run())
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, main_task.cancel)
        try:
            loop.run_until_complete(main_task)
        except asyncio.CancelledError:
            interrupted = True
            print("interrupted: stopping", flush=True)
        finally:
            loop.close()  # restores SIG_DFL for the signals it handled
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.default_int_handler)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: stopping", flush=True)
    finally:
        if stack is not None and stack.proc is not None:
            with contextlib.suppress(KeyboardInterrupt):
                stop_stack(stack)
            shutil.rmtree(work / "project", ignore_errors=True)  # the copy and its database; dev.log stays
    if soak is None or not soak.rows:
        return 130 if interrupted else 1
    summary = report(soak, args, interrupted, trace_dir)
    print_table(soak.rows, f"soak: {args.rate:g} req/s offered, {args.connections} connections")
    print_summary(summary)
    path = args.output or output_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    document = {
        "date": started.isoformat(timespec="seconds"),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": settings | {"sample_every_s": SAMPLE_EVERY_S, "latency": "from each request's scheduled time"},
        "stack": {
            "url": stack.url if stack else None,
            "started_here": bool(stack and stack.proc),
            "dev_log": str(stack.log) if stack and stack.log else None,
        },
        "summary": summary,
        "minutes": soak.rows,
        "samples": soak.samples,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"results: {path}" + (f" (stack log and traces under {work})" if stack and stack.proc else ""))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
