"""Checks of bench/httpapi.py's parsing and bookkeeping (no servers, no timing): `pytest bench`."""

import importlib.util
import sys
import tomllib
from pathlib import Path

_spec = importlib.util.spec_from_file_location("httpapi", Path(__file__).with_name("httpapi.py"))
assert _spec and _spec.loader
httpapi = importlib.util.module_from_spec(_spec)
sys.modules["httpapi"] = httpapi  # dataclasses look their module up
_spec.loader.exec_module(httpapi)

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/hello
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.59ms    2.24ms  18.61ms   70.03%
    Req/Sec     2.44k   469.71     3.98k    76.50%
  Latency Distribution
     50%  526.00us
     75%    7.94ms
     90%    1.20s
     99%   13.04ms
  12154 requests in 5.01s, 2.74MB read
  Socket errors: connect 0, read 1, write 0, timeout 15
  Non-2xx or 3xx responses: 3
Requests/sec:   2427.65
Transfer/sec:    559.50KB
"""


def test_parse_wrk_converts_units_and_counts_errors() -> None:
    assert httpapi.parse_wrk(WRK_OUTPUT) == {
        "rps": 2427.65,
        "p50_ms": 0.526,
        "p99_ms": 13.04,
        "requests": 12154,
        "errors": 19,
    }


def test_comparisons_against_a() -> None:
    results = {
        "a": {"1": {"p50_ms": 0.2, "rps": 5000}, "16": {"p50_ms": 2.0, "rps": 6000}},
        "b": {"1": {"p50_ms": 0.7, "rps": 1500}, "16": {"p50_ms": 5.0, "rps": 3000}},
        "c": {"name": "chalice local", "skipped": "missing"},
    }
    comps = httpapi.comparisons(results, 1, 16)
    assert comps.keys() == {"b"}
    assert round(comps["b"]["p50_delta_ms_c1"], 6) == 0.5
    assert comps["b"]["rps_ratio_c16"] == 0.5


def test_stratus_project_has_a_manifest_and_the_app(tmp_path: Path) -> None:
    httpapi.write_stratus_project(tmp_path)
    assert tomllib.loads((tmp_path / "stratus.toml").read_text())
    assert any(tmp_path.rglob("app.py"))
