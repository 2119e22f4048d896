"""The monthly lead-quality review: the funnel, the alignment report and cost per stage by campaign."""

from __future__ import annotations

import datetime as dt

from reporting.filters import ReportFilters, ReportScope
from reporting.selectors import alignment_report, cost_report, funnel_report
from reporting.tables import Table, alignment_tables, cost_tables, funnel_tables

EVERYONE = ReportScope(owner_ids=None, sees_costs=True)


def month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def review_tables(*, month: dt.date) -> list[Table]:
    """Return the review's tables for a month (every team, no filters), computed from the rollups now."""
    filters = ReportFilters(start=month, end=month_end(month), period="custom")
    report = funnel_report(filters=filters, scope=EVERYONE)
    cost = cost_tables(cost_report(report=report))
    return [
        *funnel_tables(report),
        *alignment_tables(alignment_report(filters=filters, scope=EVERYONE)),
        next(t for t in cost if t.id == "cost_campaign"),
    ]
