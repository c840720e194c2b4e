"""EventBridge schedule expressions: what is refused, and when a schedule fires (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.schedules import ScheduleError, parse

T0 = datetime(2026, 11, 24, 10, 17, 30, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(
    ("expression", "period"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rates_fire_every_period(expression: str, period: int) -> None:
    assert parse(expression).next_after(T0) == T0.replace(second=0) + timedelta(seconds=period)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 12 * * ? *)", datetime(2026, 11, 24, 12, 0)),
        ("cron(15 10 * * ? *)", datetime(2026, 11, 25, 10, 15)),
        ("cron(0/15 * * * ? *)", datetime(2026, 11, 24, 10, 30)),
        ("cron(0 18 ? * MON-FRI *)", datetime(2026, 11, 24, 18, 0)),
        ("cron(0 8 1 * ? *)", datetime(2026, 12, 1, 8, 0)),
        ("cron(0 9 ? * 2#1 *)", datetime(2026, 12, 7, 9, 0)),  # first Monday of December
        ("cron(0 9 L * ? *)", datetime(2026, 11, 30, 9, 0)),
        ("cron(0 9 ? * 6L *)", datetime(2026, 11, 27, 9, 0)),  # last Friday of November
        ("cron(0 9 15W * ? *)", datetime(2026, 12, 15, 9, 0)),  # Nov 15 is a Sunday -> Monday 16th, past
        ("cron(0 0 1 JAN ? 2027)", datetime(2027, 1, 1, 0, 0)),
        ("cron(0 10 ? * SUN *)", datetime(2026, 11, 29, 10, 0)),
    ],
)
def test_cron_next_firing_is_computed_in_utc(expression: str, expected: datetime) -> None:
    assert parse(expression).next_after(T0) == expected.replace(tzinfo=UTC)


def test_a_cron_with_no_future_firing_returns_none() -> None:
    assert parse("cron(0 0 1 1 ? 2020)").next_after(T0) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 minutes)", "use minute when the value is 1"),
        ("rate(5 minute)", "use minute when the value is 1, minutes otherwise"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 seconds)", "must be rate(value unit) or cron(6 fields)"),
        ("cron(0 12 * * ?)", "cron needs 6 fields"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 12 * * ? *)", "minutes values must be 0-59"),
        ("cron(0 24 * * ? *)", "hours values must be 0-23"),
        ("cron(0 12 ? * 0 *)", "day-of-week values must be 1-7"),
        ("cron(0 12 * FOO ? *)", "'FOO' is not a valid month value"),
        ("every 5 minutes", "must be rate(value unit) or cron(6 fields)"),
    ],
)
def test_invalid_expressions_are_refused_with_the_rule(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse(expression)
    assert reason in str(caught.value)
