"""Saving a monthly review so it reopens exactly as it was."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from reporting.models import ReviewSnapshot
from reporting.reviews import review_tables


@transaction.atomic
def review_snapshot_save(*, month: dt.date, by=None) -> ReviewSnapshot:
    """Save the review of `month` as it reads now; a month already saved is kept, not overwritten."""
    if month.day != 1:
        raise ApplicationError("A review is saved for a whole month; give its first day.")
    if month > timezone.localdate():
        raise ApplicationError(f"{month:%B %Y} has not started yet; there is nothing to review.")
    if ReviewSnapshot.objects.filter(month=month).exists():
        raise ApplicationError(f"The review of {month:%B %Y} is already saved; it is kept as it was.")
    data = {
        "month": month.isoformat(),
        "generated_at": timezone.now().isoformat(),
        "tables": [table.as_dict() for table in review_tables(month=month)],
    }
    try:
        with transaction.atomic():
            return ReviewSnapshot.objects.create(month=month, data=data, created_by=by)
    except IntegrityError as exc:
        raise ApplicationError(f"The review of {month:%B %Y} was saved by someone else a moment ago.") from exc
