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
