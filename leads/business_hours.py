"""Business-hours arithmetic for SLA clocks: pure functions of a team's working week and time zone.

Deadlines are computed in real elapsed time (UTC), day by day in the team's local calendar, so a
daylight-saving change never adds or loses an hour inside the working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC


@dataclass(frozen=True)
class WorkingWeek:
    time_zone: str = "UTC"
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)
    # ISO weekday numbers (Monday=1) as a string, as `Team.workdays` stores them.
    workdays: str = "12345"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("The working day must end after it starts.")
        days = {int(c) for c in self.workdays if c.isdigit() and 1 <= int(c) <= 7}
        if not days:
            raise ValueError("A working week needs at least one working day.")

    @classmethod
    def of_team(cls, team) -> WorkingWeek:
        """Return the working week of a `Team` (UTC, 9–17, Monday to Friday when there is none)."""
        if team is None:
            return cls()
        return cls(team.time_zone or "UTC", team.workday_start, team.workday_end, team.workdays or "12345")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_workday(self, day: dt.date) -> bool:
        return str(day.isoweekday()) in self.workdays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Return the working window of a local calendar day as UTC instants."""
        zone = self.zone
        opens = dt.datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        closes = dt.datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return opens, closes


def add_business_hours(start: dt.datetime, hours: float, week: WorkingWeek) -> dt.datetime:
    """Return the UTC instant `hours` working hours after `start` (which must be timezone-aware).

    Time before opening, after closing and on non-working days does not count; a start outside working
    hours begins at the next opening.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware.")
    if hours < 0:
        raise ValueError("hours must not be negative.")
    remaining = dt.timedelta(hours=hours)
    now = start.astimezone(UTC)
    day = now.astimezone(week.zone).date()
    # A working week has at least one working day, so two weeks always reach the next one.
    for _ in range(10_000):
        if week.is_workday(day):
            opens, closes = week.window(day)
            current = max(now, opens)
            if current < closes:
                available = closes - current
                if remaining <= available:
                    return current + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        now = week.window(day)[0]
    raise ValueError("Too many business hours to add.")


def business_hours_between(start: dt.datetime, end: dt.datetime, week: WorkingWeek) -> float:
    """Return the working hours from `start` to `end` (negative when `end` is earlier)."""
    if end < start:
        return -business_hours_between(end, start, week)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = dt.timedelta()
    day = start.astimezone(week.zone).date()
    last = end.astimezone(week.zone).date()
    while day <= last:
        if week.is_workday(day):
            opens, closes = week.window(day)
            lo, hi = max(start, opens), min(end, closes)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def local_day_bounds(at: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """Return the start of the local calendar day containing `at` and of the next one, as UTC instants."""
    zone = ZoneInfo(time_zone)
    day = at.astimezone(zone).date()
    begins = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)
    ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(UTC)
    return begins, ends
