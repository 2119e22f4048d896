"""Calendar days in the reporting time zone (settings.TIME_ZONE): the unit of every daily rollup."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def local_day(moment: dt.datetime) -> dt.date:
    """Return the calendar day of `moment` in the reporting time zone."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return [start, end) of `day` in the reporting time zone as aware datetimes."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), tz)
    return start, end
