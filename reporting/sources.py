"""Where the report numbers come from: the rollups (what the screens read) or the raw tables (the baseline).

Both sources answer the same questions with the same types; `reporting.selectors` builds every report
from one of them. The tests assert the two agree on known and on generated histories; the benchmark
times one against the other.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, Sum
from django.db.models.functions import TruncDate

from leads.lifecycle import Stage
from leads.models import Lead, SourceChannel, StageChange
from reporting.facts import VELOCITY_PAIRS, Fact, facts_for_leads
from reporting.filters import ReportFilters, dims_q, filter_window, lead_dims_q, people_q
from reporting.models import FunnelDailyCohort, FunnelDailyFlow, LeadFunnelFact

COHORT_FIELDS = (
    "leads",
    "reached_mql",
    "reached_sal",
    "reached_sql",
    "reached_opportunity",
    "reached_won",
    "pipeline_amount",
    "won_amount",
    "open_inquiry",
    "open_mql",
    "open_sal",
    "open_sql",
    "open_opportunity",
    "open_opportunity_amount",
)
OPEN_FIELDS = ("open_inquiry", "open_mql", "open_sal", "open_sql", "open_opportunity", "open_opportunity_amount")
# Sourced by marketing: every source but the reps' own prospecting.
MARKETING_SOURCES = frozenset(SourceChannel.values) - {SourceChannel.OUTBOUND}
VELOCITY_TO_FIELD = {name: f"{to_stage.value}_at" for _, to_stage, name in VELOCITY_PAIRS}


@dataclass(frozen=True, order=True)
class FlowRow:
    day: dt.date
    stage: str
    source_channel: str
    entries: int


@dataclass(frozen=True)
class Amounts:
    """Deal amounts of leads that first became opportunities (pipeline) or were won (revenue) in the period."""

    pipeline: Decimal
    revenue: Decimal
    marketing_pipeline: Decimal
    marketing_revenue: Decimal


@dataclass(frozen=True)
class Median:
    seconds: float | None
    n: int


@dataclass(frozen=True)
class AlignmentRow:
    owner_id: int
    assigned: int
    never_contacted: int
    first_touch: Median


@dataclass(frozen=True, order=True)
class GradeRow:
    grade: str
    won: int
    lost: int


@dataclass(frozen=True, order=True)
class VersionRow:
    uld_version_id: int  # 0: not qualified under a version
    won: int
    lost: int


class PercentileCont(Aggregate):
    """PostgreSQL's exact median (interpolating, as statistics.median does)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median(values: list[int]) -> Median:
    return Median(float(statistics.median(values)) if values else None, len(values))


def _cohort_key(row: dict) -> tuple[str, int]:
    return row["source_channel"], row["campaign_id"]


class RollupSource:
    """Numbers from the rollup tables: sums over day rows and medians over per-lead facts."""

    name = "rollup"

    def flow(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[FlowRow]:
        rows = (
            FunnelDailyFlow.objects.filter(dims_q(filters, owners), day__gte=filters.start, day__lte=filters.end)
            .values("day", "stage", "source_channel")
            .annotate(n=Sum("entries"))
            .order_by()
        )
        return sorted(FlowRow(r["day"], r["stage"], r["source_channel"], r["n"]) for r in rows)

    def amounts(self, filters: ReportFilters, owners: frozenset[int] | None) -> Amounts:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(dims_q(filters, owners))
        marketing = Q(source_channel__in=sorted(MARKETING_SOURCES))
        opened = Q(opportunity_at__gte=start, opportunity_at__lt=end)
        won = Q(won_at__gte=start, won_at__lt=end)
        totals = facts.filter(opened | won).aggregate(
            pipeline=Sum("deal_amount", filter=opened),
            revenue=Sum("deal_amount", filter=won),
            marketing_pipeline=Sum("deal_amount", filter=opened & marketing),
            marketing_revenue=Sum("deal_amount", filter=won & marketing),
        )
        return Amounts(**{name: _cents(value) for name, value in totals.items()})

    def cohort(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict[tuple[str, int], dict]:
        rows = (
            FunnelDailyCohort.objects.filter(dims_q(filters, owners), day__gte=filters.start, day__lte=filters.end)
            .values("source_channel", "campaign_id")
            .annotate(**{name: Sum(name) for name in COHORT_FIELDS})
            .order_by()
        )
        return {_cohort_key(r): _cohort_clean(r) for r in rows}

    def open_pipeline(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict:
        totals = FunnelDailyCohort.objects.filter(dims_q(filters, owners)).aggregate(
            **{name: Sum(name) for name in OPEN_FIELDS}
        )
        return _cohort_clean(totals, fields=OPEN_FIELDS)

    def velocity(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict[str, Median]:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(dims_q(filters, owners))
        result = {}
        for name, at_field in VELOCITY_TO_FIELD.items():
            scoped = facts.filter(**{f"{at_field}__gte": start, f"{at_field}__lt": end, f"{name}__isnull": False})
            result[name] = self._median(scoped, name)
        return result

    def alignment(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[AlignmentRow]:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(dims_q(filters, owners), assigned_at__gte=start, assigned_at__lt=end)
        counts = facts.values("owner_id").annotate(
            assigned=Count("lead_id"), never=Count("lead_id", filter=Q(has_sales_touch=False))
        )
        medians = self._median_by_owner(facts.filter(first_touch_s__isnull=False))
        return sorted(
            (
                AlignmentRow(r["owner_id"], r["assigned"], r["never"], medians.get(r["owner_id"], Median(None, 0)))
                for r in counts.order_by()
            ),
            key=lambda row: row.owner_id,
        )

    def first_touch_overall(self, filters: ReportFilters, owners: frozenset[int] | None) -> Median:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(
            dims_q(filters, owners), assigned_at__gte=start, assigned_at__lt=end, first_touch_s__isnull=False
        )
        return self._median(facts, "first_touch_s")

    def win_rates(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[GradeRow]:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(dims_q(filters, owners), closed_at__gte=start, closed_at__lt=end)
        rows = (
            facts.values("lead__grade")
            .annotate(won=Count("lead_id", filter=Q(is_won=True)), lost=Count("lead_id", filter=Q(is_won=False)))
            .order_by()
        )
        return sorted(GradeRow(r["lead__grade"], r["won"], r["lost"]) for r in rows)

    def win_rates_by_version(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[VersionRow]:
        start, end = filter_window(filters)
        facts = LeadFunnelFact.objects.filter(dims_q(filters, owners), closed_at__gte=start, closed_at__lt=end)
        rows = (
            facts.values("uld_version_id")
            .annotate(won=Count("lead_id", filter=Q(is_won=True)), lost=Count("lead_id", filter=Q(is_won=False)))
            .order_by()
        )
        return sorted(VersionRow(r["uld_version_id"], r["won"], r["lost"]) for r in rows)

    def _median(self, queryset, field: str) -> Median:
        if connection.vendor == "postgresql":
            result = queryset.aggregate(m=PercentileCont(field), n=Count("lead_id"))
            return Median(result["m"], result["n"])
        return _median(list(queryset.values_list(field, flat=True)))

    def _median_by_owner(self, queryset) -> dict[int, Median]:
        if connection.vendor == "postgresql":
            rows = queryset.values("owner_id").annotate(m=PercentileCont("first_touch_s"), n=Count("lead_id"))
            return {r["owner_id"]: Median(r["m"], r["n"]) for r in rows.order_by()}
        grouped: dict[int, list[int]] = defaultdict(list)
        for owner_id, seconds in queryset.values_list("owner_id", "first_touch_s"):
            grouped[owner_id].append(seconds)
        return {owner_id: _median(values) for owner_id, values in grouped.items()}


def _cohort_clean(row: dict, fields: tuple[str, ...] = COHORT_FIELDS) -> dict:
    clean = {k: v for k, v in row.items() if k not in fields}
    for name in fields:
        value = row.get(name) or 0
        clean[name] = Decimal(value).quantize(Decimal("0.01")) if name.endswith("amount") else int(value)
    return clean


class RawSource:
    """The same numbers from the raw stage log, leads and activities, with no rollup (the baseline)."""

    name = "raw"

    def flow(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[FlowRow]:
        start, end = filter_window(filters)
        changes = StageChange.objects.filter(
            lead_dims_q(filters, prefix="lead__"), people_q("owner", owners), changed_at__gte=start, changed_at__lt=end
        )
        rows = (
            changes.annotate(day=TruncDate("changed_at"))
            .values("day", "to_stage", "lead__source_channel")
            .annotate(n=Count("id"))
            .order_by()
        )
        return sorted(FlowRow(r["day"], r["to_stage"], r["lead__source_channel"], r["n"]) for r in rows)

    def amounts(self, filters: ReportFilters, owners: frozenset[int] | None) -> Amounts:
        start, end = filter_window(filters)
        ids = (
            StageChange.objects.filter(
                changed_at__gte=start, changed_at__lt=end, to_stage__in=[Stage.OPPORTUNITY, Stage.WON]
            )
            .values_list("lead_id", flat=True)
            .distinct()
        )
        totals = dict.fromkeys(("pipeline", "revenue", "marketing_pipeline", "marketing_revenue"), Decimal(0))
        for fact in self._facts(ids, filters, owners):
            amount = fact.deal_amount or Decimal(0)
            marketing = fact.source_channel in MARKETING_SOURCES
            if fact.opportunity_at and start <= fact.opportunity_at < end:
                totals["pipeline"] += amount
                totals["marketing_pipeline"] += amount if marketing else 0
            if fact.won_at and start <= fact.won_at < end:
                totals["revenue"] += amount
                totals["marketing_revenue"] += amount if marketing else 0
        return Amounts(**{name: _cents(value) for name, value in totals.items()})

    def cohort(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict[tuple[str, int], dict]:
        start, end = filter_window(filters)
        ids = Lead.objects.filter(created_at__gte=start, created_at__lt=end).values_list("pk", flat=True)
        grouped: dict[tuple[str, int], list[Fact]] = defaultdict(list)
        for fact in self._facts(ids, filters, owners):
            grouped[(fact.source_channel, fact.campaign_id)].append(fact)
        return {
            key: {"source_channel": key[0], "campaign_id": key[1], **_cohort_sums(facts)}
            for key, facts in grouped.items()
        }

    def open_pipeline(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict:
        leads = Lead.objects.filter(lead_dims_q(filters), people_q("owner", owners))
        totals = leads.aggregate(
            open_inquiry=Count("pk", filter=Q(stage=Stage.INQUIRY)),
            open_mql=Count("pk", filter=Q(stage=Stage.MQL)),
            open_sal=Count("pk", filter=Q(stage=Stage.SAL)),
            open_sql=Count("pk", filter=Q(stage=Stage.SQL)),
            open_opportunity=Count("pk", filter=Q(stage=Stage.OPPORTUNITY)),
            open_opportunity_amount=Sum("deal_amount", filter=Q(stage=Stage.OPPORTUNITY)),
        )
        return _cohort_clean(totals, fields=OPEN_FIELDS)

    def velocity(self, filters: ReportFilters, owners: frozenset[int] | None) -> dict[str, Median]:
        start, end = filter_window(filters)
        ids = (
            StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
            .values_list("lead_id", flat=True)
            .distinct()
        )
        facts = list(self._facts(ids, filters, owners))
        result = {}
        for name, at_field in VELOCITY_TO_FIELD.items():
            values = [
                getattr(f, name)
                for f in facts
                if getattr(f, name) is not None and getattr(f, at_field) and start <= getattr(f, at_field) < end
            ]
            result[name] = _median(values)
        return result

    def _assigned_facts(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[Fact]:
        start, end = filter_window(filters)
        ids = (
            StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end, owner__isnull=False)
            .values_list("lead_id", flat=True)
            .distinct()
        )
        return [f for f in self._facts(ids, filters, owners) if f.assigned_at and start <= f.assigned_at < end]

    def alignment(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[AlignmentRow]:
        grouped: dict[int, list[Fact]] = defaultdict(list)
        for fact in self._assigned_facts(filters, owners):
            grouped[fact.owner_id].append(fact)
        return sorted(
            (
                AlignmentRow(
                    owner_id,
                    len(facts),
                    sum(1 for f in facts if not f.has_sales_touch),
                    _median([f.first_touch_s for f in facts if f.first_touch_s is not None]),
                )
                for owner_id, facts in grouped.items()
            ),
            key=lambda row: row.owner_id,
        )

    def first_touch_overall(self, filters: ReportFilters, owners: frozenset[int] | None) -> Median:
        facts = self._assigned_facts(filters, owners)
        return _median([f.first_touch_s for f in facts if f.first_touch_s is not None])

    def _closed_facts(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[Fact]:
        start, end = filter_window(filters)
        ids = (
            StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end, to_stage__in=[Stage.WON, Stage.LOST])
            .values_list("lead_id", flat=True)
            .distinct()
        )
        return [f for f in self._facts(ids, filters, owners) if f.closed_at and start <= f.closed_at < end]

    def win_rates_by_version(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[VersionRow]:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for fact in self._closed_facts(filters, owners):
            counts[fact.uld_version_id][0 if fact.is_won else 1] += 1
        return sorted(VersionRow(version, won, lost) for version, (won, lost) in counts.items())

    def win_rates(self, filters: ReportFilters, owners: frozenset[int] | None) -> list[GradeRow]:
        closed = self._closed_facts(filters, owners)
        grades = dict(Lead.objects.filter(pk__in=[f.lead_id for f in closed]).values_list("pk", "grade"))
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for fact in closed:
            counts[grades[fact.lead_id]][0 if fact.is_won else 1] += 1
        return sorted(GradeRow(grade, won, lost) for grade, (won, lost) in counts.items())

    def _facts(self, ids, filters: ReportFilters, owners: frozenset[int] | None):
        for fact in facts_for_leads(list(ids)):
            if filters.source_channel and fact.source_channel != filters.source_channel:
                continue
            if filters.campaign_id is not None and fact.campaign_id != filters.campaign_id:
                continue
            if owners is not None and fact.owner_id not in owners:
                continue
            if filters.uld_version_id is not None and fact.uld_version_id != filters.uld_version_id:
                continue
            yield fact


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _cohort_sums(facts: list[Fact]) -> dict:
    def amount(values) -> Decimal:
        return sum((v for v in values if v is not None), Decimal("0")).quantize(Decimal("0.01"))

    return {
        "leads": len(facts),
        "reached_mql": sum(1 for f in facts if f.max_rank >= 1),
        "reached_sal": sum(1 for f in facts if f.max_rank >= 2),
        "reached_sql": sum(1 for f in facts if f.max_rank >= 3),
        "reached_opportunity": sum(1 for f in facts if f.max_rank >= 4),
        "reached_won": sum(1 for f in facts if f.max_rank >= 5),
        "pipeline_amount": amount(f.deal_amount for f in facts if f.max_rank >= 4),
        "won_amount": amount(f.deal_amount for f in facts if f.is_won),
        "open_inquiry": sum(1 for f in facts if f.current_stage == Stage.INQUIRY),
        "open_mql": sum(1 for f in facts if f.current_stage == Stage.MQL),
        "open_sal": sum(1 for f in facts if f.current_stage == Stage.SAL),
        "open_sql": sum(1 for f in facts if f.current_stage == Stage.SQL),
        "open_opportunity": sum(1 for f in facts if f.current_stage == Stage.OPPORTUNITY),
        "open_opportunity_amount": amount(f.deal_amount for f in facts if f.current_stage == Stage.OPPORTUNITY),
    }
