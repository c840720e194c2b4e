"""Checks of bench/soak.py's parsing, mix and bookkeeping (no stack, no timing): `pytest bench`."""

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location("soak", Path(__file__).with_name("soak.py"))
assert _spec and _spec.loader
soak = importlib.util.module_from_spec(_spec)
sys.modules["soak"] = soak  # dataclasses look their module up
_spec.loader.exec_module(soak)

# /proc/<pid>/stat of a process whose name has a space and a parenthesis: fields counted from the last ")"
STAT = "4242 (python (x) y) S 17 4242 4242 0 -1 4194560 900 0 0 0 150 50 7 3 20 0 3 0 123456 1000000 2000"


def test_stat_gives_the_parent_the_start_time_and_the_cpu_ticks_with_reaped_children() -> None:
    assert soak.parse_stat(STAT) == (17, 123456, 150 + 50 + 7 + 3)


def test_status_gives_rss_and_anonymous_rss_and_zero_for_a_kernel_thread() -> None:
    assert soak.parse_status("Name:\tpython\nVmRSS:\t  2048 kB\nRssAnon:\t  1024 kB\n") == (2048, 1024)
    assert soak.parse_status("Name:\tkthreadd\n") == (0, 0)


def test_smaps_rollup_gives_the_proportional_set_size() -> None:
    assert soak.parse_pss("55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:  9000 kB\nPss:  4321 kB\n") == 4321
    assert soak.parse_pss("") == 0


def test_processes_are_classified_by_their_command_line_and_directory() -> None:
    def kind(cmdline: list[str], cwd: str = "/p", **flags: bool) -> str:
        return str(soak.classify(cmdline, is_dev=flags.get("dev", False), in_postgres=flags.get("pg", False),
                                 cwd=cwd, root="/p")[0])  # fmt: skip

    assert kind(["python", "-m", "stratus", "dev"], dev=True) == "dev"
    assert kind(["postgres: checkpointer"], pg=True) == "postgres"
    assert kind(["python", "-m", "stratus.local.aws_server", "-p", "1"]) == "aws"
    assert kind(["python", "-m", "stratus.local.runtime.bootstrap", "gateway.main.handler"]) == "lambda"
    assert kind(["uvicorn", "web.main:app"], cwd="/p/services/web") == "container"
    assert kind(["sleep", "1"]) == "other"


def test_the_mix_offers_jobs_at_their_share_and_unrouted_requests_at_their_rate() -> None:
    mix = soak.Mix(rate=100.0, job_share=0.2, unrouted_rate=1.0, rng=random.Random(1))
    counts = Counter(mix.pick() for _ in range(100_000))
    assert abs(counts["unrouted"] / 100_000 - 0.01) < 0.002
    assert abs(counts["job"] / 100_000 - 0.2 * 0.99) < 0.01
    for kind in soak.EVEN:  # the rest in equal parts
        assert abs(counts[kind] / 100_000 - 0.8 * 0.99 / len(soak.EVEN)) < 0.01


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert soak.percentile(values, 50) == 50.0
    assert soak.percentile(values, 99) == 99.0
    assert soak.percentile([], 50) is None


def row(minute: int, total: float, environments: int = 5) -> dict[str, object]:
    rss = dict.fromkeys(soak.KINDS, 0.0) | {"dev": total, "total": total}
    return {"minute": minute, "rss_mb": rss, "pss_mb": total / 2, "environments": environments,
            "environments_max": environments}  # fmt: skip


def test_growth_is_measured_from_the_end_of_the_warm_up() -> None:
    rows = [row(1, 50.0), row(2, 100.0), row(3, 102.0), row(4, 104.0), row(5, 106.0)]
    total = soak.growth(rows, warm=2)["kinds"]["total"]
    assert (total["from_mb"], total["to_mb"], total["growth_pct"], total["mb_per_minute"]) == (100.0, 106.0, 6.0, 2.0)
    assert soak.growth(rows, warm=2)["pss"] == {"from_mb": 50.0, "to_mb": 53.0, "growth_pct": 6.0}
    assert soak.growth(rows, warm=9) == {}


def test_the_verdict_needs_no_error_and_less_than_ten_percent_growth() -> None:
    assert soak.verdict(0, 6.0).startswith("MET")
    assert soak.verdict(1, 6.0).startswith("MISSED")
    assert soak.verdict(0, 12.7).startswith("MISSED")


def test_an_unexpected_status_or_a_transport_error_is_an_error_by_kind() -> None:
    assert soak.error_key("job", 202, None) is None
    assert soak.error_key("unrouted", 404, None) is None
    assert soak.error_key("job", 503, None) == "job 503"
    assert soak.error_key("web", None, TimeoutError()) == "web TimeoutError"
