"""Reads for reports. The funnel dashboard grows here; this is the first slice, from the stage log."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from leads.lifecycle import Stage
from leads.models import StageChange


def stage_flow(*, start: dt.datetime, end: dt.datetime) -> list[tuple[str, int]]:
    """Return, for each stage in order, how many leads entered it in [start, end)."""
    counts = dict(
        StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
        .values_list("to_stage")
        .annotate(n=Count("id"))
        .values_list("to_stage", "n")
    )
    return [(stage.label, counts.get(stage.value, 0)) for stage in Stage]
