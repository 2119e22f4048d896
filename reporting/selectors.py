"""Reads for the funnel dashboard, the alignment report, the revenue-gap calculator and the monthly review.

Every report is built from a source (`reporting.sources`): the rollups for the screens, the raw tables
for the baseline the tests and the benchmark compare against.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model

from leads.lifecycle import FUNNEL, Stage
from leads.models import Campaign, SourceChannel, ULDVersion
from reporting.facts import VELOCITY_PAIRS
from reporting.filters import ReportFilters, ReportScope, owner_ids_for
from reporting.queue_reports import (
    RejectionTable,
    SlaLine,
    TouchBucket,
    no_response_touches,
    rejection_reasons,
    sla_compliance,
)
from reporting.sources import COHORT_FIELDS, Median, RawSource, RollupSource

ROLLUPS = RollupSource()
RAW = RawSource()
SIDE_STAGES = (Stage.NURTURE, Stage.LOST, Stage.DISQUALIFIED)
REACHED = (
    ("leads", Stage.INQUIRY),
    ("reached_mql", Stage.MQL),
    ("reached_sal", Stage.SAL),
    ("reached_sql", Stage.SQL),
    ("reached_opportunity", Stage.OPPORTUNITY),
    ("reached_won", Stage.WON),
)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


@dataclass(frozen=True)
class Ratio:
    label: str
    numerator: int
    denominator: int
    ratio: float | None


@dataclass(frozen=True)
class Velocity:
    label: str
    median_days: float | None
    leads: int


@dataclass(frozen=True)
class Money:
    pipeline: Decimal
    revenue: Decimal
    marketing_pipeline: Decimal
    marketing_revenue: Decimal
    won_deals: int


@dataclass
class FunnelReport:
    filters: ReportFilters
    flow: list[StageCount]
    cohort: list[StageCount]
    conversions: list[Ratio]
    velocity: list[Velocity]
    weeks: list[dt.date]
    weekly: dict[str, list[int]]
    money: Money
    source_mix: list[tuple[str, int, float | None]]
    cohort_rows: dict = field(repr=False, default_factory=dict)


def ratio(numerator: int, denominator: int, label: str = "") -> Ratio:
    return Ratio(label, numerator, denominator, numerator / denominator if denominator else None)


def _days(median: Median) -> float | None:
    return None if median.seconds is None else round(median.seconds / 86400, 2)


def funnel_report(*, filters: ReportFilters, scope: ReportScope, source=ROLLUPS) -> FunnelReport:
    """Return the funnel for the period and filters: flow, cohort, conversions, velocity, trends, money."""
    owners = owner_ids_for(filters, scope)
    flow_rows = source.flow(filters, owners)
    entries: dict[str, int] = defaultdict(int)
    week_counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for row in flow_rows:
        entries[row.stage] += row.entries
        week_counts[(row.day - dt.timedelta(days=row.day.weekday()), row.stage)] += row.entries
    flow = [StageCount(s.value, s.label, entries[s.value]) for s in (*FUNNEL, *SIDE_STAGES)]

    cohort_rows = source.cohort(filters, owners)
    totals = {name: sum(r[name] for r in cohort_rows.values()) for name in COHORT_FIELDS}
    cohort = [StageCount(stage.value, stage.label, totals[name]) for name, stage in REACHED]
    conversions = [
        ratio(totals[b], totals[a], f"{sa.label} → {sb.label}")
        for (a, sa), (b, sb) in zip(REACHED, REACHED[1:], strict=False)
    ] + [
        ratio(totals["reached_mql"], totals["leads"], "Inquiry → lead (MQL or later)"),
        ratio(totals["reached_opportunity"], totals["reached_mql"], "Lead → opportunity"),
        ratio(totals["reached_won"], totals["reached_mql"], "Lead → win"),
    ]

    medians = source.velocity(filters, owners)
    velocity = [
        Velocity(f"{a.label} → {b.label}", _days(medians[name]), medians[name].n) for a, b, name in VELOCITY_PAIRS
    ]

    first_week = filters.start - dt.timedelta(days=filters.start.weekday())
    weeks = [first_week + dt.timedelta(weeks=n) for n in range((filters.end - first_week).days // 7 + 1)]
    weekly = {s.label: [week_counts[(w, s.value)] for w in weeks] for s in FUNNEL}

    amounts = source.amounts(filters, owners)
    money = Money(
        pipeline=amounts.pipeline,
        revenue=amounts.revenue,
        marketing_pipeline=amounts.marketing_pipeline,
        marketing_revenue=amounts.marketing_revenue,
        won_deals=entries[Stage.WON.value],
    )
    by_source: dict[str, int] = defaultdict(int)
    for (source_channel, _), row in cohort_rows.items():
        by_source[source_channel] += row["leads"]
    source_mix = [
        (label, by_source[value], by_source[value] / totals["leads"] if totals["leads"] else None)
        for value, label in SourceChannel.choices
    ]
    return FunnelReport(
        filters, flow, cohort, conversions, velocity, weeks, weekly, money, source_mix, cohort_rows=cohort_rows
    )


# Costs -------------------------------------------------------------------------------------------------


def campaign_period_cost(campaign: Campaign, *, start: dt.date, end: dt.date) -> Decimal:
    """Return the part of a campaign's cost that falls in [start, end], spread evenly over its days.

    A campaign without dates is booked on the day it was created; one without an end date on its first day.
    """
    first = campaign.starts_on or campaign.created_at.date()
    last = campaign.ends_on or first
    overlap = (min(end, last) - max(start, first)).days + 1
    if overlap <= 0:
        return Decimal("0.00")
    return (campaign.cost * overlap / ((last - first).days + 1)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CostRow:
    label: str
    cost: Decimal
    counts: tuple[int, ...]  # inquiries, MQL, SAL, SQL, opportunities, won
    per_stage: tuple[Decimal | None, ...]
    revenue: Decimal
    roi: float | None


@dataclass
class CostReport:
    by_campaign: list[CostRow]
    by_source: list[CostRow]
    total_cost: Decimal


def _cost_row(label: str, cost: Decimal, row: dict, revenue: Decimal) -> CostRow:
    counts = tuple(int(row.get(name, 0)) for name, _ in REACHED)
    per_stage = tuple((cost / n).quantize(CENT, rounding=ROUND_HALF_UP) if n and cost else None for n in counts)
    return CostRow(label, cost, counts, per_stage, revenue, float((revenue - cost) / cost) if cost else None)


def cost_report(*, report: FunnelReport) -> CostReport:
    """Return cost per stage and return by campaign and by source for the funnel's cohort.

    Each campaign's cost in the period is split between sources in proportion to its inquiries from
    each; a campaign with cost but no inquiries in the period shows its cost against no source.
    """
    filters = report.filters
    campaigns = Campaign.objects.all()
    if filters.campaign_id is not None:
        campaigns = campaigns.filter(pk=filters.campaign_id)
    period_cost = {c.pk: (c.name, campaign_period_cost(c, start=filters.start, end=filters.end)) for c in campaigns}
    per_campaign: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    per_source: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for (source_channel, campaign_id), row in report.cohort_rows.items():
        for name in COHORT_FIELDS:
            per_campaign[campaign_id][name] += row[name]
            per_source[source_channel][name] += row[name]
    source_cost: dict[str, Decimal] = defaultdict(Decimal)
    unattributed = Decimal(0)
    for campaign_id, (_, cost) in period_cost.items():
        leads = per_campaign.get(campaign_id, {}).get("leads", 0)
        if not leads:
            unattributed += cost
            continue
        for (source_channel, cid), row in report.cohort_rows.items():
            if cid == campaign_id:
                source_cost[source_channel] += cost * row["leads"] / leads
    by_campaign = [
        _cost_row(name, cost, per_campaign.get(pk, {}), Decimal(per_campaign.get(pk, {}).get("won_amount", 0)))
        for pk, (name, cost) in sorted(period_cost.items(), key=lambda item: item[1][0])
        if cost or pk in per_campaign
    ]
    if 0 in per_campaign:
        by_campaign.append(
            _cost_row("No campaign", Decimal("0.00"), per_campaign[0], Decimal(per_campaign[0]["won_amount"]))
        )
    labels = dict(SourceChannel.choices)
    by_source = [
        _cost_row(
            labels.get(s, s),
            source_cost[s].quantize(CENT, rounding=ROUND_HALF_UP),
            per_source[s],
            Decimal(per_source[s]["won_amount"]),
        )
        for s in SourceChannel.values
        if s in per_source
    ]
    if unattributed:
        by_source.append(_cost_row("Campaigns with no inquiries in the period", unattributed, {}, Decimal(0)))
    total = sum((cost for _, cost in period_cost.values()), Decimal("0.00"))
    return CostReport(by_campaign, by_source, total)


# Alignment ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlignmentLine:
    label: str
    assigned: int
    never_contacted: int
    never_share: float | None
    median_hours_to_first_touch: float | None
    touched: int


@dataclass(frozen=True)
class GradeWinRate:
    grade: str
    won: int
    lost: int
    win_rate: float | None


@dataclass
class AlignmentReport:
    filters: ReportFilters
    total: AlignmentLine
    by_owner: list[AlignmentLine]
    by_grade: list[GradeWinRate]
    by_version: list[GradeWinRate]
    sla_total: SlaLine
    sla_by_rep: list[SlaLine]
    sla_by_team: list[SlaLine]
    no_response: list[TouchBucket]
    rejections: RejectionTable


def _hours(median: Median) -> float | None:
    return None if median.seconds is None else round(median.seconds / 3600, 2)


def alignment_report(
    *, filters: ReportFilters, scope: ReportScope, source=ROLLUPS, now: dt.datetime | None = None
) -> AlignmentReport:
    """Return whether assigned leads are worked and how sales judges them.

    Never-contacted share and time to first touch count a lead in the period it was first assigned (its
    owner first set in the stage log); SLA compliance, touches before "no response", rejection reasons
    and win rates by grade and by the ULD version that qualified the lead.
    """
    owners = owner_ids_for(filters, scope)
    rows = source.alignment(filters, owners)
    names = {
        u.pk: u.get_full_name() or u.username
        for u in get_user_model().objects.filter(pk__in=[r.owner_id for r in rows if r.owner_id])
    }
    by_owner = [
        AlignmentLine(
            names.get(r.owner_id, "Unassigned now" if not r.owner_id else f"User {r.owner_id}"),
            r.assigned,
            r.never_contacted,
            r.never_contacted / r.assigned if r.assigned else None,
            _hours(r.first_touch),
            r.first_touch.n,
        )
        for r in rows
    ]
    assigned = sum(r.assigned for r in rows)
    never = sum(r.never_contacted for r in rows)
    overall = source.first_touch_overall(filters, owners)
    total = AlignmentLine("All", assigned, never, never / assigned if assigned else None, _hours(overall), overall.n)
    grade_labels = {"": "Not scored"}
    by_grade = [
        GradeWinRate(grade_labels.get(g.grade, g.grade), g.won, g.lost, g.won / (g.won + g.lost))
        for g in source.win_rates(filters, owners)
    ]
    versions = dict(ULDVersion.objects.values_list("pk", "number"))
    by_version = [
        GradeWinRate(
            f"Version {versions[v.uld_version_id]}" if v.uld_version_id in versions else "No version",
            v.won,
            v.lost,
            v.won / (v.won + v.lost),
        )
        for v in source.win_rates_by_version(filters, owners)
    ]
    sla_total, sla_by_rep, sla_by_team = sla_compliance(filters=filters, owners=owners, now=now)
    return AlignmentReport(
        filters,
        total,
        by_owner,
        by_grade,
        by_version,
        sla_total,
        sla_by_rep,
        sla_by_team,
        no_response_touches(filters=filters, owners=owners),
        rejection_reasons(filters=filters, owners=owners),
    )


# Revenue gap -------------------------------------------------------------------------------------------

GAP_STAGES = (
    ("won", "Won deals", "opportunity_won"),
    ("opportunity", "Opportunities", "sql_opportunity"),
    ("sql", "SQLs", "sal_sql"),
    ("sal", "SALs", "mql_sal"),
    ("mql", "MQLs", "inquiry_mql"),
    ("inquiry", "Inquiries", None),
)


@dataclass(frozen=True)
class Assumptions:
    """Ratios (0–1) from each stage to the next, and the average won deal."""

    avg_deal: Decimal | None
    inquiry_mql: float | None
    mql_sal: float | None
    sal_sql: float | None
    sql_opportunity: float | None
    opportunity_won: float | None


@dataclass(frozen=True)
class GapRow:
    stage: str
    label: str
    needed: int
    have: int | None
    gap: int | None


def measured_assumptions(*, report: FunnelReport) -> Assumptions:
    """Return the ratios measured on the report's cohort and its average won deal."""
    conv = {r.label: r.ratio for r in report.conversions}
    labels = [f"{a.label} → {b.label}" for a, b, _ in VELOCITY_PAIRS]
    avg = (
        (report.money.revenue / report.money.won_deals).quantize(CENT, rounding=ROUND_HALF_UP)
        if report.money.won_deals and report.money.revenue
        else None
    )
    return Assumptions(avg, *(conv[label] for label in labels))


def revenue_gap(*, target: Decimal, assumptions: Assumptions, pipeline: dict) -> list[GapRow]:
    """Return, from the target backwards, how many of each stage are needed, held now, and the gap.

    The caller has checked every assumption is positive. Counts round up: half a deal is a whole one.
    """
    have = {
        "won": None,
        "opportunity": pipeline["open_opportunity"],
        "sql": pipeline["open_sql"],
        "sal": pipeline["open_sal"],
        "mql": pipeline["open_mql"],
        "inquiry": pipeline["open_inquiry"],
    }
    rows = []
    needed = math.ceil(target / assumptions.avg_deal)
    for stage, label, ratio_name in GAP_STAGES:
        held = have[stage]
        rows.append(GapRow(stage, label, needed, held, None if held is None else max(needed - held, 0)))
        if ratio_name:
            needed = math.ceil(needed / getattr(assumptions, ratio_name) - 1e-9)
    return rows


def open_pipeline(*, filters: ReportFilters, scope: ReportScope, source=ROLLUPS) -> dict:
    """Return how many leads sit in each open stage now (not bounded by the period) and the open amount."""
    return source.open_pipeline(filters, owner_ids_for(filters, scope))
