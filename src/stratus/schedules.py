"""EventBridge schedule expressions: ``rate(value unit)`` and six-field ``cron(...)``, in UTC.

Rules (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):

- ``rate(1 minute|hour|day)`` for a value of 1, ``rate(N minutes|hours|days)`` otherwise;
- ``cron(minutes hours day-of-month month day-of-week year)``; day-of-week 1-7 is SUN-SAT (or SUN..SAT),
  months 1-12 or JAN..DEC; wildcards ``, - * /`` everywhere, ``?`` in exactly one of day-of-month and
  day-of-week, ``L`` (last day of the month; ``nL`` last weekday n of the month), ``W`` (nearest weekday),
  ``#`` (``2#1``: the first Monday); years 1970-2199; nothing more frequent than a minute.

:func:`parse` raises :class:`ScheduleError` with the rule that was broken; :meth:`Schedule.next_after`
gives the next time a schedule fires.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RATE_RE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
CRON_RE = re.compile(r"^cron\((?P<body>[^)]*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_FIELDS = (("minutes", 0, 59), ("hours", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12),
           ("day-of-week", 1, 7), ("year", 1970, 2199))  # fmt: skip


class ScheduleError(ValueError):
    """An expression EventBridge would refuse; the message says which rule it breaks."""


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: either a fixed ``period`` (rate) or cron field sets."""

    expression: str
    period: timedelta | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    years: frozenset[int] = frozenset()
    day_of_month: str = "?"
    day_of_week: str = "?"

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment`` (UTC), or None if there is none before 2200."""
        moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
        if self.period is not None:
            return moment + self.period
        day = moment.date()
        while day.year <= 2199:
            if day.year in self.years and day.month in self.months and self._day_matches(day.year, day.month, day.day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate > moment:
                            return candidate
            day += timedelta(days=1)
        return None

    def _day_matches(self, year: int, month: int, day: int) -> bool:
        if self.day_of_month != "?":
            return _dom_matches(self.day_of_month, year, month, day)
        return _dow_matches(self.day_of_week, year, month, day)


def parse(expression: str) -> Schedule:
    rate = RATE_RE.fullmatch(expression)
    if rate:
        n, unit = int(rate["n"]), rate["unit"]
        if n < 1:
            raise ScheduleError(f"{expression}: the rate must be a positive whole number")
        if (n == 1) == unit.endswith("s"):
            raise ScheduleError(
                f"{expression}: use {unit.rstrip('s')} when the value is 1, {unit.rstrip('s')}s otherwise"
            )
        return Schedule(expression, period=timedelta(seconds=n * _UNIT_SECONDS[unit.rstrip("s")]))
    cron = CRON_RE.fullmatch(expression)
    if not cron:
        raise ScheduleError(f"{expression}: must be rate(value unit) or cron(6 fields)")
    fields = cron["body"].split()
    if len(fields) != 6:
        raise ScheduleError(
            f"{expression}: cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
    _check_day_field(dom, 2, expression)
    _check_day_field(dow, 4, expression)
    return Schedule(
        expression,
        minutes=_values(minute, 0, expression),
        hours=_values(hour, 1, expression),
        months=_values(month, 3, expression),
        years=_values(year, 5, expression),
        day_of_month=dom,
        day_of_week=dow.upper(),
    )


def _values(field: str, index: int, expression: str) -> frozenset[int]:
    name, lo, hi = _FIELDS[index]
    names = _MONTHS if index == 3 else _DAYS if index == 4 else {}
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, names, name, expression) if step_text else 1
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, names, name, expression), _number(last, names, name, expression)
        else:
            start = _number(base, names, name, expression)
            end = hi if step_text else start
        if not (lo <= start <= hi and lo <= end <= hi) or step < 1:
            raise ScheduleError(f"{expression}: {name} values must be {lo}-{hi} (got {part!r})")
        out.update(range(start, end + 1, step) if start <= end else [*range(start, hi + 1, step)])
    return frozenset(out)


def _number(text: str, names: dict[str, int], field: str, expression: str) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"{expression}: {text!r} is not a valid {field} value")
    return int(text)


def _check_day_field(field: str, index: int, expression: str) -> None:
    if field == "?":
        return
    upper = field.upper()
    if index == 2 and (upper in ("L", "LW") or re.fullmatch(r"\d{1,2}W", upper)):
        return
    if index == 4 and (re.fullmatch(r"[1-7]L|[A-Z]{3}L|L", upper) or re.fullmatch(r"([1-7]|[A-Z]{3})#[1-5]", upper)):
        return
    _values(field, index, expression)


def _dom_matches(field: str, year: int, month: int, day: int) -> bool:
    last = calendar.monthrange(year, month)[1]
    upper = field.upper()
    if upper == "L":
        return day == last
    if upper.endswith("W"):
        target = last if upper == "LW" else min(int(upper[:-1]), last)
        return day == _nearest_weekday(year, month, target, last)
    return day in _values(field, 2, field)


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    weekday = calendar.weekday(year, month, target)  # Monday = 0
    if weekday == 5:
        return target - 1 if target > 1 else target + 2
    if weekday == 6:
        return target + 1 if target < last else target - 2
    return target


def _dow_matches(field: str, year: int, month: int, day: int) -> bool:
    dow = (calendar.weekday(year, month, day) + 1) % 7 + 1  # SUN = 1 ... SAT = 7
    if field == "L":
        return dow == 7
    if field.endswith("L"):
        wanted = _number(field[:-1], _DAYS, "day-of-week", field)
        return dow == wanted and day + 7 > calendar.monthrange(year, month)[1]
    if "#" in field:
        name, _, nth = field.partition("#")
        return dow == _number(name, _DAYS, "day-of-week", field) and (day - 1) // 7 + 1 == int(nth)
    return dow in _values(field, 4, field)
