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
from django.db.models.functions import Coalesce, TruncDate
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

# Ids are handed out before commit, so a row can commit after a higher id was already read. The refresh
# remembers the ids it skipped over (gaps) and looks for them again, for this many ids below the top;
# a gap older than that is taken to be a rolled-back insert.
GAP_WINDOW = 100_000
FACT_FIELDS = [
    "created_at",
    "source_channel",
    "campaign_id",
    "owner_id",
    "uld_version_id",
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


def rollups_mark_dirty(*, day: dt.date | None = None, lead_ids: Iterable[int] = (), all_days: bool = False) -> None:
    """Note that a day and/or some leads changed, so the next refresh recomputes them.

    Cheap and safe inside the caller's transaction (an insert that ignores duplicates). After a stage
    change pass its day and the lead; after an edit of a lead's source or campaign, or a deletion, pass
    the lead with `all_days=True` (every day of its log is stale). Stage changes and sales touches that
    nobody marks are still found by the refresh's catch-up.
    """
    if day is not None:
        RollupDirtyDay.objects.bulk_create([RollupDirtyDay(day=day)], ignore_conflicts=True)
    rows = [RollupDirtyLead(lead_id=lead_id, all_days=all_days) for lead_id in set(lead_ids)]
    if rows and all_days:
        RollupDirtyLead.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["lead_id"], update_fields=["all_days"]
        )
    elif rows:
        RollupDirtyLead.objects.bulk_create(rows, ignore_conflicts=True)


@dataclass
class _Work:
    leads: set[int]
    all_day_leads: set[int]
    flow_days: set[dt.date]
    cohort_days: set[dt.date]


def _new_rows(queryset, *, watermark: int, gaps: list[int], fields: tuple[str, ...]) -> tuple[list, int, list[int]]:
    """Return rows above the watermark or in its gaps, the new watermark and the gaps still open."""
    rows = list(queryset.filter(Q(id__gt=watermark) | Q(id__in=gaps)).values_list("id", *fields))
    seen = {row[0] for row in rows}
    top = max([watermark, *seen])
    open_gaps = [g for g in gaps if g not in seen] + [i for i in range(watermark + 1, top) if i not in seen]
    return rows, top, [g for g in open_gaps if g > top - GAP_WINDOW]


@transaction.atomic
def rollups_refresh(*, max_leads: int = 50_000) -> RefreshResult:
    """Recompute the rollups of every dirty lead and day, and of log rows and touches new since the last run.

    Holds the lock on the single state row for the whole run, so two workers never interleave; the
    dirty rows it consumed are deleted by id, so marks made during the run wait for the next one.
    """
    state, _ = RollupState.objects.get_or_create(singleton=True)
    state = RollupState.objects.select_for_update().get(pk=state.pk)
    dirty_leads = list(RollupDirtyLead.objects.order_by("id").values_list("id", "lead_id", "all_days")[:max_leads])
    dirty_days = list(RollupDirtyDay.objects.values_list("id", "day"))
    work = _Work(
        leads={lead_id for _, lead_id, _ in dirty_leads},
        all_day_leads={lead_id for _, lead_id, all_days in dirty_leads if all_days},
        flow_days={day for _, day in dirty_days},
        cohort_days={day for _, day in dirty_days},
    )
    changes, state.stage_change_watermark, state.stage_change_gaps = _new_rows(
        StageChange.objects.all(),
        watermark=state.stage_change_watermark,
        gaps=state.stage_change_gaps,
        fields=("lead_id", "changed_at"),
    )
    for _, lead_id, changed_at in changes:
        work.leads.add(lead_id)
        work.flow_days.add(local_day(changed_at))
    # Every activity id is read (not only touches) so the gaps are true gaps, not other kinds.
    activities, state.activity_watermark, state.activity_gaps = _new_rows(
        Activity.objects.all(),
        watermark=state.activity_watermark,
        gaps=state.activity_gaps,
        fields=("lead_id", "kind"),
    )
    work.leads.update(lead_id for _, lead_id, kind in activities if kind in SALES_TOUCH_KINDS)
    result = _recompute(work)
    RollupDirtyLead.objects.filter(id__in=[pk for pk, _, _ in dirty_leads]).delete()
    RollupDirtyDay.objects.filter(id__in=[pk for pk, _ in dirty_days]).delete()
    state.last_run_at = timezone.now()
    state.last_run_leads = result.leads
    state.last_run_days = result.flow_days
    state.save()
    return result


def rollups_rebuild(*, chunk_size: int = 5000) -> RefreshResult:
    """Recompute every lead's facts and every day's rollups from scratch (first install, repairs).

    Facts are written in chunks of leads, each its own transaction, so a large database does not hold
    one huge transaction; the daily rollups are then summed in one grouped query each. The watermarks
    are moved to the top first, so a refresh afterwards redoes only what changed since.
    """
    state, _ = RollupState.objects.get_or_create(singleton=True)
    RollupState.objects.filter(pk=state.pk).update(
        stage_change_watermark=StageChange.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        activity_watermark=Activity.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        stage_change_gaps=[],
        activity_gaps=[],
    )
    LeadFunnelFact.objects.all().delete()
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        with transaction.atomic():
            LeadFunnelFact.objects.bulk_create(
                [_fact_row(fact) for fact in facts_for_leads(ids[start : start + chunk_size])], batch_size=2000
            )
    first = StageChange.objects.order_by("changed_at").values_list("changed_at", flat=True).first()
    last = StageChange.objects.order_by("-changed_at").values_list("changed_at", flat=True).first()
    days = [] if first is None else _days_from(local_day(first), local_day(last))
    with transaction.atomic():
        FunnelDailyFlow.objects.all().delete()
        FunnelDailyCohort.objects.all().delete()
        flow_days = _flow_days_recompute(days)
        cohort_days = _cohort_days_recompute(days)
    return RefreshResult(leads=len(ids), flow_days=flow_days, cohort_days=cohort_days)


def _insert_batches(model, rows: Iterable, *, size: int = 5000) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _days_from(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# Dirty days closer than this are recomputed as one run: a clean day in between costs less to redo than
# another query.
RUN_GAP_DAYS = 7


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Return the days as (first, last) runs, merging runs separated by fewer than RUN_GAP_DAYS days."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days <= RUN_GAP_DAYS:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _flow_days_recompute(days: Iterable[dt.date]) -> int:
    """Replace the flow rows of every day in the runs covering `days`; return how many days that was."""
    tz = timezone.get_default_timezone()
    count = 0
    for first, last in _runs(days):
        FunnelDailyFlow.objects.filter(day__gte=first, day__lte=last).delete()
        changes = StageChange.objects.filter(
            changed_at__gte=day_bounds(first)[0], changed_at__lt=day_bounds(last)[1]
        ).annotate(day=TruncDate("changed_at", tzinfo=tz))
        _insert_batches(FunnelDailyFlow, _flow_rows(changes, ("day",)))
        count += (last - first).days + 1
    return count


def _cohort_days_recompute(days: Iterable[dt.date]) -> int:
    """Replace the cohort rows of every day in the runs covering `days`; return how many days that was."""
    tz = timezone.get_default_timezone()
    count = 0
    for first, last in _runs(days):
        FunnelDailyCohort.objects.filter(day__gte=first, day__lte=last).delete()
        rows = (
            LeadFunnelFact.objects.filter(created_at__gte=day_bounds(first)[0], created_at__lt=day_bounds(last)[1])
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("day", "source_channel", "campaign_id", "owner_id", "uld_version_id")
            .annotate(**cohort_aggregates())
            .order_by()
        )
        _insert_batches(FunnelDailyCohort, (FunnelDailyCohort(**row) for row in rows.iterator(chunk_size=5000)))
        count += (last - first).days + 1
    return count


def _flow_rows(changes, extra: tuple[str, ...]):
    """Yield flow rows grouped from stage-log rows annotated with their `day`."""
    grouped = (
        changes.values(
            *extra,
            "to_stage",
            "lead__source_channel",
            "lead__campaign_id",
            "owner_id",
            "lead__qualified_uld_version_id",
        )
        .annotate(entries=Count("id"))
        .order_by()
    )
    for row in grouped.iterator(chunk_size=5000):
        yield FunnelDailyFlow(
            day=row["day"],
            stage=row["to_stage"],
            source_channel=row["lead__source_channel"],
            campaign_id=row["lead__campaign_id"] or 0,
            owner_id=row["owner_id"] or 0,
            uld_version_id=row["lead__qualified_uld_version_id"] or 0,
            entries=row["entries"],
        )


def _recompute(work: _Work) -> RefreshResult:
    """Recompute the leads' facts, then the flow and cohort days the work touches."""
    ids = sorted(work.leads)
    # Where the leads were before: a lead deleted or re-dated must leave its old cohort day.
    old = LeadFunnelFact.objects.filter(lead_id__in=ids)
    old_versions: dict[int, int] = {}
    for fact in old.values("lead_id", "created_at", "mql_at", "sal_at", "sql_at", "opportunity_at", "closed_at"):
        work.cohort_days.add(local_day(fact["created_at"]))
        if fact["lead_id"] in work.all_day_leads:
            work.flow_days.update(local_day(at) for name, at in fact.items() if name != "lead_id" and at)
    if work.all_day_leads:
        changed = StageChange.objects.filter(lead_id__in=sorted(work.all_day_leads)).values_list(
            "changed_at", flat=True
        )
        work.flow_days.update(local_day(at) for at in changed)
    old_versions.update(old.values_list("lead_id", "uld_version_id"))
    old.delete()
    rows = []
    for fact in facts_for_leads(ids):
        work.cohort_days.add(local_day(fact.created_at))
        # Flow rows carry the lead's current ULD version: when qualifying sets it, every earlier day's
        # entries of this lead move to the new version too.
        if old_versions.get(fact.lead_id, 0) != fact.uld_version_id:
            work.flow_days.update(local_day(at) for _, at in fact.entries)
        rows.append(_fact_row(fact))
    LeadFunnelFact.objects.bulk_create(rows, batch_size=2000)
    flow_days = _flow_days_recompute(work.flow_days)
    cohort_days = _cohort_days_recompute(work.cohort_days)
    return RefreshResult(leads=len(ids), flow_days=flow_days, cohort_days=cohort_days)


def _fact_row(fact: Fact) -> LeadFunnelFact:
    return LeadFunnelFact(lead_id=fact.lead_id, **{name: getattr(fact, name) for name in FACT_FIELDS})


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
