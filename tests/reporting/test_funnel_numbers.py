"""Every number of the funnel, cost, alignment and revenue-gap reports against the hand-computed March."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leads.models import SourceChannel
from reporting.filters import ReportFilters, ReportScope
from reporting.selectors import (
    RAW,
    ROLLUPS,
    alignment_report,
    cost_report,
    funnel_report,
    measured_assumptions,
    open_pipeline,
    revenue_gap,
)
from reporting.services import rollups_refresh

pytestmark = pytest.mark.django_db
EVERYONE = ReportScope(owner_ids=None, sees_costs=True)
MARCH = ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), period="custom")
SOURCES = pytest.mark.parametrize("source", [ROLLUPS, RAW], ids=["rollups", "raw"])


@pytest.fixture
def refreshed(march):
    rollups_refresh()
    return march


@SOURCES
def test_flow_counts_every_entry_including_returns_from_nurture(refreshed, source):
    report = funnel_report(filters=MARCH, scope=EVERYONE, source=source)
    flow = {s.stage: s.count for s in report.flow}
    assert flow == {
        "inquiry": 5,
        "mql": 5,
        "sal": 5,
        "sql": 3,
        "opportunity": 3,
        "won": 2,
        "nurture": 1,
        "lost": 1,
        "disqualified": 0,
    }


@SOURCES
def test_cohort_counts_skipped_stages_as_passed(refreshed, source):
    report = funnel_report(filters=MARCH, scope=EVERYONE, source=source)
    assert [s.count for s in report.cohort] == [5, 4, 4, 2, 2, 1]
    conversions = {r.label: (r.numerator, r.denominator) for r in report.conversions}
    assert conversions == {
        "Inquiry → MQL": (4, 5),
        "MQL → SAL": (4, 4),
        "SAL → SQL": (2, 4),
        "SQL → Opportunity": (2, 2),
        "Opportunity → Won": (1, 2),
        "Inquiry → lead (MQL or later)": (4, 5),
        "Lead → opportunity": (2, 4),
        "Lead → win": (1, 4),
    }


@SOURCES
def test_velocity_medians_measure_from_the_return_from_nurture(refreshed, source):
    report = funnel_report(filters=MARCH, scope=EVERYONE, source=source)
    assert [(v.median_days, v.leads) for v in report.velocity] == [
        (2.0, 4),  # 1, 3, 1, 4 days
        (1.0, 4),  # L2 counts from its second MQL: 1 day, not 12
        (2.0, 3),  # 2, 2.75, 1
        (1.0, 3),  # 4, 1, 1
        (9.0, 2),  # 10, 8
    ]


@SOURCES
def test_weekly_trend_and_money(refreshed, source):
    report = funnel_report(filters=MARCH, scope=EVERYONE, source=source)
    assert report.weeks[0] == dt.date(2026, 2, 23)
    assert report.weekly["MQL"] == [1, 2, 1, 1, 0, 0]
    assert report.money.pipeline == Decimal("25000")  # L1 at its current 12,000, L3 5,000, L5 8,000
    assert report.money.revenue == Decimal("20000")
    assert report.money.marketing_revenue == Decimal("20000")
    assert report.money.won_deals == 2
    mix = {label: n for label, n, _ in report.source_mix}
    assert mix == {"Inbound": 2, "Outbound": 1, "Event": 1, "Referral": 0, "Partner": 0, "Nurture": 1}


def test_marketing_sourced_money_leaves_out_outbound(refreshed):
    flt = ReportFilters(start=MARCH.start, end=MARCH.end, source_channel=SourceChannel.OUTBOUND)
    report = funnel_report(filters=flt, scope=EVERYONE)
    assert report.money.marketing_pipeline == 0
    assert [s.count for s in report.cohort] == [1, 1, 1, 0, 0, 0]


@SOURCES
def test_cost_per_stage_by_campaign_and_source(refreshed, source):
    costs = cost_report(report=funnel_report(filters=MARCH, scope=EVERYONE, source=source))
    by_campaign = {row.label: row for row in costs.by_campaign}
    webinar = by_campaign["Webinar"]
    assert webinar.cost == Decimal("3000.00")
    assert webinar.counts == (2, 2, 2, 1, 1, 1)
    assert webinar.per_stage == tuple(
        Decimal(v) for v in ("1500.00", "1500.00", "1500.00", "3000.00", "3000.00", "3000.00")
    )
    assert webinar.revenue == Decimal("12000")
    assert webinar.roi == 3.0
    expo = by_campaign["Expo"]
    assert expo.cost == Decimal("533.33")
    assert expo.per_stage[:5] == (Decimal("533.33"),) * 5
    assert expo.per_stage[5] is None  # no won deal: no cost per won deal
    assert expo.roi == -1.0
    no_campaign = by_campaign["No campaign"]
    assert (no_campaign.cost, no_campaign.counts[0], no_campaign.per_stage[0]) == (0, 2, None)
    by_source = {row.label: row.cost for row in costs.by_source}
    assert by_source == {
        "Inbound": Decimal("3000.00"),
        "Outbound": Decimal("0.00"),
        "Event": Decimal("533.33"),
        "Nurture": Decimal("0.00"),
    }
    assert costs.total_cost == Decimal("3533.33")


@SOURCES
def test_alignment_never_contacted_first_touch_and_win_rate_by_grade(refreshed, source, alice, bob):
    report = alignment_report(filters=MARCH, scope=EVERYONE, source=source)
    total = report.total
    assert (total.assigned, total.never_contacted, total.never_share) == (5, 1, 0.2)
    assert total.median_hours_to_first_touch == 5.0  # 6, 12, 2, 4 hours
    by_owner = {line.label: line for line in report.by_owner}
    alice_line = by_owner[alice.get_full_name()]
    assert (alice_line.assigned, alice_line.never_contacted, alice_line.median_hours_to_first_touch) == (3, 0, 6.0)
    bob_line = by_owner[bob.get_full_name()]
    # L4 changed owner (charlie to bob): it counts for bob, timed from its first assignment.
    assert (bob_line.assigned, bob_line.never_contacted, bob_line.median_hours_to_first_touch) == (2, 1, 2.0)
    assert [(g.grade, g.won, g.lost, g.win_rate) for g in report.by_grade] == [("A", 1, 1, 0.5), ("B", 1, 0, 1.0)]


@SOURCES
def test_revenue_gap_from_measured_ratios(refreshed, source):
    report = funnel_report(filters=MARCH, scope=EVERYONE, source=source)
    assumptions = measured_assumptions(report=report)
    assert assumptions.avg_deal == Decimal("10000.00")
    pipeline = open_pipeline(filters=MARCH, scope=EVERYONE, source=source)
    assert (pipeline["open_inquiry"], pipeline["open_sal"], pipeline["open_opportunity"]) == (2, 2, 0)
    rows = revenue_gap(target=Decimal("100000"), assumptions=assumptions, pipeline=pipeline)
    assert [(r.stage, r.needed, r.have, r.gap) for r in rows] == [
        ("won", 10, None, None),
        ("opportunity", 20, 0, 20),
        ("sql", 20, 0, 20),
        ("sal", 40, 2, 38),
        ("mql", 40, 0, 40),
        ("inquiry", 50, 2, 48),
    ]


@SOURCES
def test_rep_sees_only_their_own_numbers(refreshed, source, alice):
    scope = ReportScope(owner_ids=frozenset({alice.pk}), sees_costs=False)
    report = funnel_report(filters=MARCH, scope=scope, source=source)
    flow = {s.stage: s.count for s in report.flow}
    assert (flow["sal"], flow["won"], flow["inquiry"]) == (3, 2, 0)
    assert [s.count for s in report.cohort] == [2, 2, 2, 2, 2, 1]  # L1, L3


@SOURCES
def test_team_filter_counts_the_teams_reps(refreshed, source, team_west):
    flt = ReportFilters(start=MARCH.start, end=MARCH.end, team_id=team_west.pk)
    report = funnel_report(filters=flt, scope=EVERYONE, source=source)
    flow = {s.stage: s.count for s in report.flow}
    assert (flow["inquiry"], flow["mql"], flow["sal"]) == (1, 1, 0)  # L4 while charlie held it


def test_a_period_with_nothing_gives_zeros_not_errors(refreshed):
    flt = ReportFilters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
    report = funnel_report(filters=flt, scope=EVERYONE)
    assert all(s.count == 0 for s in report.flow)
    assert all(r.ratio is None for r in report.conversions)
    assert all(v.median_days is None for v in report.velocity)
    assert measured_assumptions(report=report).avg_deal is None
