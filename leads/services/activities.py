"""Recording what happened on a lead (its timeline)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.models import Activity, Lead
from leads.models.activity import SALES_TOUCH_KINDS, ActivityKind


@transaction.atomic
def activity_record(
    *,
    lead: Lead,
    kind: str,
    by=None,
    source: str = "user",
    occurred_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> Activity:
    """Append an activity to the lead's timeline; a sales touch also counts on the lead."""
    if kind not in ActivityKind.values:
        raise ApplicationError(f"Unknown activity kind {kind!r}.")
    occurred_at = occurred_at or timezone.now()
    activity = Activity.objects.create(
        lead=lead, kind=kind, recorded_by=by, source=source, occurred_at=occurred_at, payload=payload or {}
    )
    if kind in SALES_TOUCH_KINDS:
        # F() expressions: two reps logging touches at once both count; never touches `stage`.
        Lead.objects.filter(pk=lead.pk).update(
            sales_touches=F("sales_touches") + 1,
            last_touch_at=Greatest(Coalesce(F("last_touch_at"), Value(occurred_at)), Value(occurred_at)),
        )
    return activity


@transaction.atomic
def activities_record_many(*, activities: list[Activity]) -> list[Activity]:
    """Append many unsaved activities in one insert; sales touches count on their leads as in `activity_record`.

    For set-based writers (processing a batch of behaviour events): one INSERT instead of one per row.
    """
    unknown = sorted({a.kind for a in activities} - set(ActivityKind.values))
    if unknown:
        raise ApplicationError(f"Unknown activity kind(s): {', '.join(map(repr, unknown))}.")
    created = Activity.objects.bulk_create(activities, batch_size=500)
    touches: dict[int, list[dt.datetime]] = {}
    for activity in created:
        if activity.kind in SALES_TOUCH_KINDS:
            touches.setdefault(activity.lead_id, []).append(activity.occurred_at)
    for lead_id, times in touches.items():
        latest = max(times)
        Lead.objects.filter(pk=lead_id).update(
            sales_touches=F("sales_touches") + len(times),
            last_touch_at=Greatest(Coalesce(F("last_touch_at"), Value(latest)), Value(latest)),
        )
    return created
