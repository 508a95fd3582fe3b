"""Cron schedules evaluated in a time zone, with a stated rule for DST changes.

Two spellings are accepted:

- standard 5-field cron ``MIN HOUR DOM MON DOW`` (DOW 0-7, Sunday 0 or 7; when both
  day fields are restricted a day matching either fires, as Vixie cron does), and
  the ``@hourly``/``@daily``/``@weekly``/``@monthly``/``@yearly`` shorthands;
- Glue/EventBridge ``cron(MIN HOUR DOM MON DOW YEAR)`` (DOW 1-7, Sunday 1; one of the
  day fields must be ``?``).

Fields take ``*``, ``?``, numbers, names (JAN, MON), ranges ``a-b``, steps ``*/n`` and
``a-b/n``, and lists. Minutes are the finest grain.

Wall times are read in the schedule's time zone (IANA name, default UTC). Around a
DST change:

- a wall time that does not exist (the hour skipped in spring) fires at the
  instant it would have been before the change, i.e. shifted by the gap (02:30 →
  03:30 on a one-hour jump); two wall times landing on one instant fire once;
- a wall time that occurs twice (the hour repeated in autumn) fires once, at its
  first occurrence, unless the hour field is ``*``: then the schedule runs in
  every real hour, including the repeated one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ConfigError

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# A schedule that matches no day in this many years never fires (e.g. 30 February).
SEARCH_YEARS = 9
UTC = timezone.utc


class CronError(ConfigError):
    """A cron expression or time zone is invalid. Terminal."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


MINUTE = _Field("minute", 0, 59)
HOUR = _Field("hour", 0, 23)
DOM = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, MONTHS, 1)
DOW = _Field("day-of-week", 0, 7, DAYS, 0)  # standard: 0 and 7 are Sunday
GLUE_DOW = _Field("day-of-week", 1, 7, DAYS, 1)  # Glue: 1 is Sunday
YEAR = _Field("year", 1970, 2199)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule; :meth:`next_after` gives its firing instants."""

    expression: str
    tz: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    years: frozenset[int] | None
    days_restricted: bool
    weekdays_restricted: bool
    every_hour: bool

    @classmethod
    def parse(cls, expression: str, tz: str = "UTC") -> CronSchedule:
        """Parse ``expression`` for the IANA time zone ``tz``.

        Raises:
            CronError: naming the field, the value and what is allowed.
        """
        _zone(tz)
        text = " ".join(expression.split())
        glue = re.fullmatch(r"cron\((.*)\)", text)
        if glue:
            return cls._parse_glue(expression, glue.group(1).split(), tz)
        text = SHORTHANDS.get(text.lower(), text)
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"schedule {expression!r}: expected 5 fields (minute hour day-of-month month "
                f"day-of-week) or cron(min hour dom month dow year), found {len(parts)}",
                hint="e.g. '*/15 * * * *' or 'cron(0 2 * * ? *)'",
            )
        minute, hour, dom, month, dow = parts
        weekdays = frozenset(d % 7 for d in _values(expression, dow, DOW))
        return cls._build(expression, tz, (minute, hour, dom, month, dow), weekdays, None)

    @classmethod
    def _build(
        cls,
        expression: str,
        tz: str,
        fields: tuple[str, str, str, str, str],
        weekdays: frozenset[int],
        years: frozenset[int] | None,
    ) -> CronSchedule:
        minute, hour, dom, month, dow = fields
        return cls(
            expression=expression,
            tz=tz,
            minutes=_values(expression, minute, MINUTE),
            hours=_values(expression, hour, HOUR),
            days=_values(expression, dom, DOM),
            months=_values(expression, month, MONTH),
            weekdays=weekdays,
            years=years,
            days_restricted=dom not in ("*", "?"),
            weekdays_restricted=dow not in ("*", "?"),
            every_hour=hour == "*",
        )

    @classmethod
    def _parse_glue(cls, expression: str, parts: list[str], tz: str) -> CronSchedule:
        if len(parts) != 6:
            raise CronError(
                f"schedule {expression!r}: cron(...) takes 6 fields (minute hour day-of-month "
                f"month day-of-week year), found {len(parts)}",
                hint="e.g. cron(0 2 * * ? *)",
            )
        minute, hour, dom, month, dow, year = parts
        if (dom == "?") == (dow == "?"):
            raise CronError(
                f"schedule {expression!r}: exactly one of day-of-month and day-of-week must "
                "be '?' (Glue's rule)",
                hint="e.g. cron(0 2 * * ? *) or cron(0 2 ? * MON-FRI *)",
            )
        weekdays = frozenset(d - 1 for d in _values(expression, dow, GLUE_DOW))
        years = None if year in ("*", "?") else _values(expression, year, YEAR)
        return cls._build(expression, tz, (minute, hour, dom, month, dow), weekdays, years)

    # -- evaluation ----------------------------------------------------------------------
    def is_day(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def instants_on(self, day: date) -> list[datetime]:
        """The UTC instants this schedule fires on local date ``day``, ascending."""
        if not self.is_day(day):
            return []
        zone = _zone(self.tz)
        found: set[datetime] = set()
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                wall = datetime.combine(day, time(hour, minute), tzinfo=zone)
                first = wall.astimezone(UTC)
                found.add(first)  # fold=0: the first occurrence, or shifted past a gap
                second = wall.replace(fold=1).astimezone(UTC)
                if second != first and self.every_hour and _exists(wall):
                    found.add(second)  # the repeated hour, for every-hour schedules
        return sorted(found)

    def next_after(self, after: datetime) -> datetime:
        """The first firing instant strictly after ``after`` (an aware datetime), in UTC.

        Raises:
            CronError: the schedule matches no day in the next years.
        """
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        day = after.astimezone(_zone(self.tz)).date() - timedelta(days=1)  # gaps shift
        limit = day + timedelta(days=366 * SEARCH_YEARS)
        while day <= limit:
            later = [i for i in self.instants_on(day) if i > after]
            if later:  # a gap may push a late wall time past the next day's first one
                return min(
                    [*later, *(i for i in self.instants_on(day + timedelta(1)) if i > after)]
                )
            day += timedelta(days=1)
        raise CronError(
            f"schedule {self.expression!r} never fires (no matching day within "
            f"{SEARCH_YEARS} years)",
            hint="check the day-of-month and month fields (e.g. 30 February)",
        )

    def firings_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Firing instants in ``(start, end]``, ascending."""
        zone = _zone(self.tz)
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        found: set[datetime] = set()
        while day <= last:
            found.update(i for i in self.instants_on(day) if start < i <= end)
            day += timedelta(days=1)
        return sorted(found)


def _exists(wall: datetime) -> bool:
    """Whether an aware local wall time exists (is not inside a DST gap)."""
    back = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(
            f"time zone {tz!r} is not an IANA time zone name",
            hint="e.g. UTC, Europe/Berlin, America/New_York",
        ) from exc


def _number(expression: str, text: str, field: _Field) -> int:
    upper = text.upper()
    if field.names and upper in field.names:
        return field.names.index(upper) + field.name_base
    if not text.isdigit():
        allowed = f"{field.low}-{field.high}" + (
            f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
        )
        raise CronError(
            f"schedule {expression!r}: {field.name} value {text!r} is not a number ({allowed})",
            hint="fields take *, numbers, names, ranges a-b, steps */n and lists a,b",
        )
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(
            f"schedule {expression!r}: {field.name} {value} is outside {field.low}-{field.high}",
            hint="fields take *, numbers, names, ranges a-b, steps */n and lists a,b",
        )
    return value


def _values(expression: str, text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(
                    f"schedule {expression!r}: {field.name} step {step_text!r} must be a "
                    "positive number",
                    hint="e.g. */15",
                )
            step = int(step_text)
        if base in ("*", "?"):
            low, high = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _number(expression, first, field), _number(expression, last, field)
            if low > high:
                raise CronError(
                    f"schedule {expression!r}: {field.name} range {base!r} runs backwards",
                    hint="write the smaller value first",
                )
        else:
            low = _number(expression, base, field)
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    if not values:
        raise CronError(f"schedule {expression!r}: {field.name} {text!r} is empty")
    return frozenset(values)
