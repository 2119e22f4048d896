from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leads.business_hours import WorkingWeek, add_business_hours, business_hours_between, local_day_bounds

UTC = dt.UTC
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEK = WorkingWeek("UTC", dt.time(9), dt.time(17), "12345")


def at(*args, tz=UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def test_hours_inside_one_working_day():
    # Tuesday 10:00 + 4h = 14:00
    assert add_business_hours(at(2026, 3, 3, 10), 4, WEEK) == at(2026, 3, 3, 14)


def test_hours_spill_into_the_next_working_day():
    # Tuesday 15:00 + 4h: 2h today, 2h from Wednesday 09:00
    assert add_business_hours(at(2026, 3, 3, 15), 4, WEEK) == at(2026, 3, 4, 11)


def test_start_before_opening_begins_at_opening():
    assert add_business_hours(at(2026, 3, 3, 6, 30), 1, WEEK) == at(2026, 3, 3, 10)


def test_friday_evening_skips_the_weekend():
    assert add_business_hours(at(2026, 3, 6, 18), 4, WEEK) == at(2026, 3, 9, 13)


def test_saturday_start_counts_from_monday():
    assert add_business_hours(at(2026, 3, 7, 12), 8, WEEK) == at(2026, 3, 9, 17)


def test_exact_close_is_the_deadline_not_the_next_morning():
    assert add_business_hours(at(2026, 3, 3, 13), 4, WEEK) == at(2026, 3, 3, 17)


def test_custom_workdays_sunday_to_thursday():
    week = WorkingWeek("UTC", dt.time(8), dt.time(16), "71234")
    # Friday is off: Thursday 15:00 + 2h -> 1h Thursday, 1h Sunday
    assert add_business_hours(at(2026, 3, 5, 15), 2, week) == at(2026, 3, 8, 9)


def test_team_time_zone_is_used_for_the_working_day():
    week = WorkingWeek("America/New_York", dt.time(9), dt.time(17), "12345")
    # 13:00 UTC on Tuesday 3 March is 08:00 in New York (EST, UTC-5): clock starts at 09:00 local.
    result = add_business_hours(at(2026, 3, 3, 13), 2, week)
    assert result == at(2026, 3, 3, 11, tz=NY)


def test_dst_spring_forward_weekend_keeps_working_hours_in_local_time():
    week = WorkingWeek("America/New_York", dt.time(9), dt.time(17), "12345")
    # Friday 6 March 2026 16:00 EST; US clocks go forward on Sunday 8 March. 3h = 1h Friday + 2h Monday.
    result = add_business_hours(at(2026, 3, 6, 16, tz=NY), 3, week)
    assert result == at(2026, 3, 9, 11, tz=NY)
    assert result.utcoffset() == dt.timedelta(0)
    assert result == at(2026, 3, 9, 15)  # EDT is UTC-4


def test_dst_fall_back_in_berlin():
    week = WorkingWeek("Europe/Berlin", dt.time(9), dt.time(17), "12345")
    # Friday 23 Oct 2026 16:00 CEST; clocks go back on Sunday 25 Oct. Monday 10:00 CET is 09:00 UTC.
    result = add_business_hours(at(2026, 10, 23, 16, tz=BERLIN), 2, week)
    assert result == at(2026, 10, 26, 9)


def test_working_day_containing_a_dst_change_counts_real_hours():
    # A 24/7 team in New York: the spring-forward day has 23 hours.
    week = WorkingWeek("America/New_York", dt.time(0), dt.time(23, 59, 59), "1234567")
    start, end = at(2026, 3, 8, 0, tz=NY), at(2026, 3, 8, 23, 59, 59, tz=NY)
    assert business_hours_between(start, end, week) == pytest.approx(23 - 1 / 3600, abs=1e-6)


def test_business_hours_between_skips_nights_and_weekends():
    assert business_hours_between(at(2026, 3, 6, 15), at(2026, 3, 9, 11), WEEK) == pytest.approx(4)
    assert business_hours_between(at(2026, 3, 9, 11), at(2026, 3, 6, 15), WEEK) == pytest.approx(-4)


def test_naive_start_and_bad_week_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_hours(dt.datetime(2026, 3, 3, 10), 1, WEEK)
    with pytest.raises(ValueError, match="end after"):
        WorkingWeek("UTC", dt.time(17), dt.time(9))
    with pytest.raises(ValueError, match="working day"):
        WorkingWeek("UTC", dt.time(9), dt.time(17), "")


def test_local_day_bounds_follow_the_time_zone():
    begins, ends = local_day_bounds(at(2026, 3, 3, 3), "America/New_York")
    assert begins == at(2026, 3, 2, 5) and ends == at(2026, 3, 3, 5)
