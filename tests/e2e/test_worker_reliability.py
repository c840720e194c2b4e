"""No job is lost when the consumer's execution environments are killed mid-batch (small scale; the full
5,000-job run is bench/reliability.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.devstack import DevStack
from tests.e2e.reliability import make_worker_project, run

pytestmark = pytest.mark.e2e


def test_every_job_is_done_once_or_dead_lettered_with_a_reason_despite_kill_9(tmp_path: Path) -> None:
    stack = DevStack(make_worker_project(tmp_path))
    try:
        outcome = run(stack, jobs=60, kills=2, timeout=90)
    finally:
        stack.stop()
    assert outcome.kills >= 2
    assert sum(outcome.statuses.values()) == 60
    assert set(outcome.statuses) <= {"succeeded", "failed"}, outcome.statuses
    assert outcome.wrong_results == []
    for reason in outcome.dead_letter_reasons:
        assert "dead-letter queue" in reason
