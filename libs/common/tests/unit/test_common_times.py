"""times: the one way services write a moment: ISO 8601 in UTC, milliseconds, Z; strings that sort as the moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from stratus_common.times import iso, utc_now


def test_a_moment_in_any_zone_is_written_in_utc_to_the_millisecond() -> None:
    paris = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 3, 10, 13, 0, 0, 123456, tzinfo=paris)) == "2026-03-10T12:00:00.123Z"
    assert iso(datetime(2026, 3, 10, 12, tzinfo=UTC)) == "2026-03-10T12:00:00.000Z"


def test_the_strings_sort_as_the_moments_do() -> None:
    start = datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    moments = [start + timedelta(milliseconds=step * 997) for step in range(-50, 50)]
    shifted = [moment.astimezone(timezone(timedelta(hours=step % 5 - 2))) for step, moment in enumerate(moments)]
    assert sorted(iso(moment) for moment in shifted) == [iso(moment) for moment in sorted(moments)]


def test_now_is_aware_and_in_utc() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)
