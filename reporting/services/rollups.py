"""Keep the funnel rollups equal to what the raw stage log and activities give.

Every recompute is of whole units (one lead's facts, one day's flow rows, one day's cohort rows): delete
the unit's rows, insert them afresh from the raw tables. Running it twice gives the same rows, so the
refresh is idempotent by construction and safe to retry or to run after a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Activity, Lead, StageChange
from leads.models.activity import SALES_TOUCH_KINDS
from reporting.days import day_bounds, local_day
from reporting.facts import Fact, facts_for_leads
from reporting.models import (
    FunnelDailyCohort,
    FunnelDailyFlow,
    LeadFunnelFact,
    RollupDirtyDay,
    RollupDirtyLead,
    RollupState,
)

# Log ids are handed out before commit, so a row may commit after a later id was already seen; the
# catch-up re-reads this many ids below its watermark so such a straggler is still picked up.
WATERMARK_OVERLAP = 5000
FACT_FIELDS = [
    "created_at",
    "source_channel",
    "campaign_id",
    "owner_id",
    "current_stage",
    "max_rank",
    "deal_amount",
    "mql_at",
    "sal_at",
    "sql_at",
    "opportunity_at",
    "won_at",
    "inquiry_mql_s",
    "mql_sal_s",
    "sal_sql_s",
    "sql_opportunity_s",
    "opportunity_won_s",
    "assigned_at",
    "first_touch_at",
    "first_touch_s",
    "has_sales_touch",
    "closed_at",
    "is_won",
]


@dataclass(frozen=True)
class RefreshResult:
    leads: int
    flow_days: int
    cohort_days: int


def rollups_mark_dirty(*, day: dt.date | None = None, lead_ids: Iterable[int] = ()) -> None:
    """Note that a day and/or some leads changed, so the next refresh recomputes them.

    Cheap and safe inside the caller's transaction (one insert that ignores duplicates); the lifecycle
    service calls it on every stage change, anything that edits a lead's source, campaign or amount
    should too. The refresh also catches up on log rows nobody marked.
    """
    if day is not None:
        RollupDirtyDay.objects.bulk_create([RollupDirtyDay(day=day)], ignore_conflicts=True)
    rows = [RollupDirtyLead(lead_id=lead_id) for lead_id in set(lead_ids)]
    if rows:
        RollupDirtyLead.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def rollups_refresh(*, max_leads: int = 50_000) -> RefreshResult:
    """Recompute the rollups of every dirty lead and day, and of log rows newer than the last run.

    Holds the lock on the single state row for the whole run, so two workers never interleave; the
    dirty rows it consumed are deleted by id, so marks made during the run wait for the next one.
    """
    state, _ = RollupState.objects.get_or_create(singleton=True)
    state = RollupState.objects.select_for_update().get(pk=state.pk)
    dirty_leads = list(RollupDirtyLead.objects.order_by("id").values_list("id", "lead_id")[:max_leads])
    dirty_days = list(RollupDirtyDay.objects.values_list("id", "day"))
    lead_ids = {lead_id for _, lead_id in dirty_leads}
    new_changes = StageChange.objects.filter(id__gt=max(state.stage_change_watermark - WATERMARK_OVERLAP, 0))
    change_top = state.stage_change_watermark
    for change_id, lead_id in new_changes.values_list("id", "lead_id"):
        lead_ids.add(lead_id)
        change_top = max(change_top, change_id)
    new_touches = Activity.objects.filter(
        id__gt=max(state.activity_watermark - WATERMARK_OVERLAP, 0), kind__in=SALES_TOUCH_KINDS
    )
    activity_top = Activity.objects.order_by("-id").values_list("id", flat=True).first() or 0
    lead_ids.update(new_touches.filter(id__lte=activity_top).values_list("lead_id", flat=True))
    result = _recompute(lead_ids=lead_ids, days={day for _, day in dirty_days})
    RollupDirtyLead.objects.filter(id__in=[pk for pk, _ in dirty_leads]).delete()
    RollupDirtyDay.objects.filter(id__in=[pk for pk, _ in dirty_days]).delete()
    state.stage_change_watermark = change_top
    state.activity_watermark = max(state.activity_watermark, activity_top)
    state.last_run_at = timezone.now()
    state.last_run_leads = result.leads
    state.last_run_days = result.flow_days
    state.save()
    return result


def rollups_rebuild(*, chunk_size: int = 5000) -> RefreshResult:
    """Recompute every lead's facts and every day's rollups from scratch (first install, repairs).

    Runs in chunks, each its own transaction, so a large database does not hold one huge transaction;
    the watermarks are moved to the top first, so a refresh afterwards only redoes what changed since.
    """
    state, _ = RollupState.objects.get_or_create(singleton=True)
    RollupState.objects.filter(pk=state.pk).update(
        stage_change_watermark=StageChange.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        activity_watermark=Activity.objects.order_by("-id").values_list("id", flat=True).first() or 0,
    )
    with transaction.atomic():
        LeadFunnelFact.objects.all().delete()
        FunnelDailyFlow.objects.all().delete()
        FunnelDailyCohort.objects.all().delete()
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        with transaction.atomic():
            LeadFunnelFact.objects.bulk_create(
                [_fact_row(fact) for fact in facts_for_leads(ids[start : start + chunk_size])], batch_size=2000
            )
    first = StageChange.objects.order_by("changed_at").values_list("changed_at", flat=True).first()
    last = StageChange.objects.order_by("-changed_at").values_list("changed_at", flat=True).first()
    days = _days_between(first, last)
    for day in days:
        with transaction.atomic():
            _flow_day_recompute(day)
            _cohort_day_recompute(day)
    return RefreshResult(leads=len(ids), flow_days=len(days), cohort_days=len(days))


def _days_between(first: dt.datetime | None, last: dt.datetime | None) -> list[dt.date]:
    if first is None or last is None:
        return []
    start, end = local_day(first), local_day(last)
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _recompute(*, lead_ids: set[int], days: set[dt.date]) -> RefreshResult:
    """Recompute the facts of `lead_ids`, then every day their log, creation or old facts touch."""
    ids = sorted(lead_ids)
    flow_days = set(days)
    cohort_days = set(days)
    # Where the leads were before (a lead deleted or re-dated must leave its old cohort day).
    for created_at in LeadFunnelFact.objects.filter(lead_id__in=ids).values_list("created_at", flat=True):
        cohort_days.add(local_day(created_at))
    for changed_at in StageChange.objects.filter(lead_id__in=ids).values_list("changed_at", flat=True):
        flow_days.add(local_day(changed_at))
    LeadFunnelFact.objects.filter(lead_id__in=ids).delete()
    rows = []
    for fact in facts_for_leads(ids):
        cohort_days.add(local_day(fact.created_at))
        rows.append(_fact_row(fact))
    LeadFunnelFact.objects.bulk_create(rows, batch_size=2000)
    for day in sorted(flow_days):
        _flow_day_recompute(day)
    for day in sorted(cohort_days):
        _cohort_day_recompute(day)
    return RefreshResult(leads=len(ids), flow_days=len(flow_days), cohort_days=len(cohort_days))


def _fact_row(fact: Fact) -> LeadFunnelFact:
    return LeadFunnelFact(lead_id=fact.lead_id, **{name: getattr(fact, name) for name in FACT_FIELDS})


def _flow_day_recompute(day: dt.date) -> None:
    start, end = day_bounds(day)
    FunnelDailyFlow.objects.filter(day=day).delete()
    rows = (
        StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
        .values("to_stage", "lead__source_channel", "lead__campaign_id", "owner_id")
        .annotate(entries=Count("id"), amount=Coalesce(Sum("lead__deal_amount"), 0, output_field=_amount_field()))
        .order_by()
    )
    FunnelDailyFlow.objects.bulk_create(
        [
            FunnelDailyFlow(
                day=day,
                stage=row["to_stage"],
                source_channel=row["lead__source_channel"],
                campaign_id=row["lead__campaign_id"] or 0,
                owner_id=row["owner_id"] or 0,
                entries=row["entries"],
                amount=row["amount"],
            )
            for row in rows
        ],
        batch_size=2000,
    )


def _amount_field() -> DecimalField:
    return DecimalField(max_digits=16, decimal_places=2)


def cohort_aggregates() -> dict:
    """Return the aggregates that sum fact rows into a cohort row (shared with the raw path's checks)."""
    amount = _amount_field()
    return {
        "leads": Count("lead_id"),
        "reached_mql": Count("lead_id", filter=Q(max_rank__gte=1)),
        "reached_sal": Count("lead_id", filter=Q(max_rank__gte=2)),
        "reached_sql": Count("lead_id", filter=Q(max_rank__gte=3)),
        "reached_opportunity": Count("lead_id", filter=Q(max_rank__gte=4)),
        "reached_won": Count("lead_id", filter=Q(max_rank__gte=5)),
        "pipeline_amount": Coalesce(Sum("deal_amount", filter=Q(max_rank__gte=4)), 0, output_field=amount),
        "won_amount": Coalesce(Sum("deal_amount", filter=Q(is_won=True)), 0, output_field=amount),
        "open_inquiry": Count("lead_id", filter=Q(current_stage=Stage.INQUIRY)),
        "open_mql": Count("lead_id", filter=Q(current_stage=Stage.MQL)),
        "open_sal": Count("lead_id", filter=Q(current_stage=Stage.SAL)),
        "open_sql": Count("lead_id", filter=Q(current_stage=Stage.SQL)),
        "open_opportunity": Count("lead_id", filter=Q(current_stage=Stage.OPPORTUNITY)),
        "open_opportunity_amount": Coalesce(
            Sum("deal_amount", filter=Q(current_stage=Stage.OPPORTUNITY)), 0, output_field=amount
        ),
    }


def _cohort_day_recompute(day: dt.date) -> None:
    start, end = day_bounds(day)
    FunnelDailyCohort.objects.filter(day=day).delete()
    rows = (
        LeadFunnelFact.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("source_channel", "campaign_id", "owner_id")
        .annotate(**cohort_aggregates())
        .order_by()
    )
    FunnelDailyCohort.objects.bulk_create([FunnelDailyCohort(day=day, **row) for row in rows], batch_size=2000)
