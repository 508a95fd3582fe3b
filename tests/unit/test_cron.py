"""Cron evaluation: against a brute-force matcher in UTC, and across DST changes."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.orchestrate.cron import CronError, CronSchedule

pytestmark = pytest.mark.unit
UTC = timezone.utc
DST_ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago")


def _brute_force(schedule: CronSchedule, after: datetime, days: int) -> datetime | None:
    """The first minute after ``after`` whose UTC fields match (fixed-offset zones)."""
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(days * 24 * 60):
        if t.minute in schedule.minutes and t.hour in schedule.hours and schedule.is_day(t.date()):
            return t
        t += timedelta(minutes=1)
    return None


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        number.map(str),
        st.lists(number, min_size=1, max_size=4, unique=True).map(lambda v: ",".join(map(str, v))),
        st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}"),
        st.integers(1, 30).map(lambda n: f"*/{n}"),
    )


@settings(max_examples=150, deadline=None)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    weekday=st.one_of(st.just("*"), _field(0, 6)),
    after=st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1)),
)
def test_next_firing_is_the_first_matching_minute_in_utc(
    minute: str, hour: str, weekday: str, after: datetime
) -> None:
    schedule = CronSchedule.parse(f"{minute} {hour} * * {weekday}")
    start = after.replace(tzinfo=UTC)
    assert schedule.next_after(start) == _brute_force(schedule, start, 8)


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    after=st.datetimes(datetime(2025, 1, 1), datetime(2029, 1, 1)),
)
def test_an_hourly_schedule_fires_every_real_hour_through_dst(zone: str, after: datetime) -> None:
    schedule = CronSchedule.parse("0 * * * *", zone)
    start = after.replace(tzinfo=UTC)
    firings = schedule.firings_between(start, start + timedelta(days=3))
    gaps = {b - a for a, b in itertools.pairwise(firings)}
    assert gaps == {timedelta(hours=1)}


@pytest.mark.parametrize("zone", DST_ZONES)
def test_a_daily_schedule_fires_once_every_local_day_for_a_year(zone: str) -> None:
    schedule = CronSchedule.parse("30 2 * * *", zone)
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone))
    firings = schedule.firings_between(start, start + timedelta(days=365))
    local_days = [f.astimezone(ZoneInfo(zone)).date() for f in firings]
    assert len(firings) == 365 and len(set(local_days)) == 365
    assert all(f.astimezone(ZoneInfo(zone)).minute == 30 for f in firings)


def test_the_skipped_spring_hour_fires_shifted_and_the_repeated_autumn_hour_once() -> None:
    new_york = "America/New_York"
    spring = CronSchedule.parse("30 2 * * *", new_york)
    # 2026-03-08 02:30 does not exist in New York: it fires at 03:30 EDT (07:30 UTC)
    assert spring.next_after(datetime(2026, 3, 8, 0, tzinfo=UTC)) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    autumn = CronSchedule.parse("30 1 * * *", new_york)
    firings = autumn.firings_between(
        datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 2, 12, tzinfo=UTC)
    )
    # 01:30 happens twice on 2026-11-01; a fixed time fires at the first (EDT) only
    assert firings == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),
    ]
    every_hour = CronSchedule.parse("30 * * * *", new_york).firings_between(
        datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)
    )
    assert [f.hour for f in every_hour] == [4, 5, 6, 7]  # 00:30, 01:30 EDT, 01:30 EST, 02:30


def test_glue_syntax_names_shorthands_and_a_half_hour_dst_zone() -> None:
    weekdays = CronSchedule.parse("cron(0 2 ? * MON-FRI *)")
    assert weekdays.next_after(datetime(2026, 11, 28, 12, tzinfo=UTC)) == datetime(
        2026, 11, 30, 2, tzinfo=UTC
    )  # Saturday → Monday
    assert CronSchedule.parse("cron(15 10 ? * 1 2027)").next_after(
        datetime(2026, 11, 28, tzinfo=UTC)
    ) == datetime(2027, 1, 3, 10, 15, tzinfo=UTC)  # Glue's 1 is Sunday; year field
    assert CronSchedule.parse("@daily").next_after(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == (
        datetime(2026, 1, 2, tzinfo=UTC)
    )
    leap = CronSchedule.parse("0 0 29 FEB *")
    assert leap.next_after(datetime(2026, 1, 1, tzinfo=UTC)).date() == date(2028, 2, 29)
    # Lord Howe moves its clocks by 30 minutes: 02:15 does not exist on 2026-10-04
    howe = CronSchedule.parse("15 2 * * *", "Australia/Lord_Howe")
    fired = howe.next_after(datetime(2026, 10, 3, 10, tzinfo=UTC))
    assert fired.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M") == "02:45"


@pytest.mark.parametrize(
    ("expression", "zone", "message"),
    [
        ("61 * * * *", "UTC", "minute 61 is outside 0-59"),
        ("* * *", "UTC", "expected 5 fields"),
        ("cron(0 2 * * * *)", "UTC", "exactly one of day-of-month and day-of-week must be '?'"),
        ("*/0 * * * *", "UTC", "step '0' must be a positive number"),
        ("0 0 * FOO *", "UTC", "month value 'FOO' is not a number"),
        ("5-1 * * * *", "UTC", "range '5-1' runs backwards"),
        ("0 0 * * *", "Mars/Olympus", "not an IANA time zone name"),
    ],
)
def test_bad_expressions_say_which_field_and_why(expression: str, zone: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CronSchedule.parse(expression, zone)


def test_a_schedule_that_never_fires_says_so() -> None:
    with pytest.raises(CronError, match="never fires"):
        CronSchedule.parse("0 0 30 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC))
