"""Turn reports into tables: what the pages render, what CSV exports, what charts plot, what reviews save.

A table's cells are plain JSON values (text, integers, floats, None), already rounded for display, so a
saved review renders exactly as it was and CSV needs no per-report code.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from leads.csv_safety import formula_safe_writer
from reporting.selectors import AlignmentReport, CostReport, FunnelReport, GapRow

STAGE_COLUMNS = ["Inquiries", "MQL", "SAL", "SQL", "Opportunities", "Won"]


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list]
    # How to plot it: {"type": "bar"|"line", "label_column": 0, "series": [column indexes]}; None: no chart.
    chart: dict | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def chart_data(self) -> dict | None:
        """Return the chart's labels and datasets, read from the table itself (the table is the truth)."""
        if not self.chart:
            return None
        label_column = self.chart.get("label_column", 0)
        return {
            "type": self.chart["type"],
            "title": self.caption,
            "labels": [str(row[label_column]) for row in self.rows],
            "datasets": [
                {"label": self.columns[i], "data": [_number(row[i]) for row in self.rows]} for i in self.chart["series"]
            ],
        }


def _number(value) -> float | int:
    """Return a cell as a number to plot (money cells are text; an empty cell plots as 0)."""
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def funnel_tables(report: FunnelReport) -> list[Table]:
    weeks_table = Table(
        "weekly",
        "Leads entering each stage, by week (week starting)",
        ["Week", *report.weekly.keys()],
        [[week.isoformat(), *(series[i] for series in report.weekly.values())] for i, week in enumerate(report.weeks)],
        chart={"type": "line", "series": list(range(1, len(report.weekly) + 1))},
    )
    return [
        Table(
            "flow",
            "Leads entering each stage in the period (flow)",
            ["Stage", "Entries"],
            [[s.label, s.count] for s in report.flow],
            chart={"type": "bar", "series": [1]},
            note="A lead that enters a stage twice (back from nurture) counts twice.",
        ),
        Table(
            "cohort",
            "Leads created in the period and how far they have got so far (cohort)",
            ["Stage", "Reached", "% of inquiries"],
            [
                [s.label, s.count, pct(s.count / report.cohort[0].count) if report.cohort[0].count else None]
                for s in report.cohort
            ],
            chart={"type": "bar", "series": [1]},
            note="A lead that skipped a stage (a demo request accepted straight away) has passed it.",
        ),
        Table(
            "conversions",
            "Conversion between stages (cohort)",
            ["Step", "Converted", "Of", "Rate %"],
            [[r.label, r.numerator, r.denominator, pct(r.ratio)] for r in report.conversions],
            chart={"type": "bar", "series": [3]},
            note="A lead is an MQL or later: a lead that meets the signed lead definition.",
        ),
        Table(
            "velocity",
            "Velocity: median days between stages (for leads reaching the later stage in the period)",
            ["Step", "Median days", "Leads"],
            [[v.label, v.median_days, v.leads] for v in report.velocity],
            chart={"type": "bar", "series": [1]},
            note="Measured from the latest entry into the earlier stage, so a return from nurture restarts it.",
        ),
        weeks_table,
        Table(
            "money",
            "Pipeline and revenue in the period",
            ["Measure", "Amount"],
            [
                ["Pipeline created (first became an opportunity)", money(report.money.pipeline)],
                ["Marketing-sourced pipeline", money(report.money.marketing_pipeline)],
                ["Revenue won", money(report.money.revenue)],
                ["Marketing-sourced revenue", money(report.money.marketing_revenue)],
                ["Won deals", report.money.won_deals],
            ],
            note="At each deal's current amount. Marketing-sourced: every source but outbound prospecting.",
        ),
        Table(
            "source_mix",
            "Source mix of the period's inquiries",
            ["Source", "Inquiries", "Share %"],
            [[label, n, pct(share)] for label, n, share in report.source_mix],
            chart={"type": "doughnut", "series": [1]},
        ),
    ]


def _cost_rows(rows) -> list[list]:
    return [
        [r.label, money(r.cost), *r.counts, *(money(c) for c in r.per_stage), money(r.revenue), pct(r.roi)]
        for r in rows
    ]


COST_COLUMNS = [
    "Cost",
    *STAGE_COLUMNS,
    *(f"Cost per {name}" for name in ("inquiry", "MQL", "SAL", "SQL", "opportunity", "won deal")),
    "Revenue won",
    "Return %",
]


def cost_tables(report: CostReport) -> list[Table]:
    return [
        Table(
            "cost_campaign",
            "Cost per stage and return, by campaign",
            ["Campaign", *COST_COLUMNS],
            _cost_rows(report.by_campaign),
            chart={"type": "bar", "series": [8, 9, 12]},
            note="A campaign's cost is spread evenly over its days; the period carries the days it covers.",
        ),
        Table(
            "cost_source",
            "Cost per stage and return, by source",
            ["Source", *COST_COLUMNS],
            _cost_rows(report.by_source),
            note="A campaign's cost is split between sources in proportion to its inquiries from each.",
        ),
    ]


def alignment_tables(report: AlignmentReport) -> list[Table]:
    columns = ["Rep", "Assigned", "Never contacted", "Never contacted %", "Median hours to first touch", "Touched"]

    def line(a) -> list:
        return [
            a.label,
            a.assigned,
            a.never_contacted,
            pct(a.never_share),
            a.median_hours_to_first_touch,
            a.touched,
        ]

    return [
        Table(
            "alignment",
            "Are assigned leads being worked? (leads first assigned in the period)",
            columns,
            [line(report.total), *(line(a) for a in report.by_owner)],
            chart={"type": "bar", "series": [3]},
            note="Assigned: an owner first set in the stage log. First touch: the first call, email, meeting "
            "or social touch at or after assignment.",
        ),
        Table(
            "win_rate_grade",
            "Win rate by grade (leads won or lost in the period)",
            ["Grade", "Won", "Lost", "Win rate %"],
            [[g.grade, g.won, g.lost, pct(g.win_rate)] for g in report.by_grade],
            chart={"type": "bar", "series": [3]},
        ),
        Table(
            "win_rate_uld",
            "Win rate by the lead-definition version that qualified the lead (leads won or lost in the period)",
            ["ULD version", "Won", "Lost", "Win rate %"],
            [[g.grade, g.won, g.lost, pct(g.win_rate)] for g in report.by_version],
            chart={"type": "bar", "series": [3]},
        ),
        *sla_tables(report),
        Table(
            "no_response_touches",
            'Sales touches made before a lead was returned as "no response" (moves in the period)',
            ["Touches", "Leads", "Share %"],
            [[b.label, b.leads, pct(b.share)] for b in report.no_response],
            chart={"type": "bar", "series": [1]},
            note="Counted from the lead's calls, emails, meetings and social touches up to the move.",
        ),
        *rejection_tables(report),
    ]


SLA_NOTE = (
    "Leads whose current owner got them in the period. Met: first touch by its due time. Breached: touched "
    "late, or still untouched past due. Pending (untouched, not due yet) is not in the share."
)


def sla_tables(report: AlignmentReport) -> list[Table]:
    columns = ["Met", "Breached", "Pending", "Compliance %"]

    def line(a) -> list:
        return [a.label, a.met, a.breached, a.pending, pct(a.compliance)]

    return [
        Table(
            "sla_rep",
            "First-touch SLA compliance by rep",
            ["Rep", *columns],
            [line(report.sla_total), *(line(a) for a in report.sla_by_rep)],
            chart={"type": "bar", "series": [4]},
            note=SLA_NOTE,
        ),
        Table(
            "sla_team",
            "First-touch SLA compliance by team",
            ["Team", *columns],
            [line(report.sla_total), *(line(a) for a in report.sla_by_team)],
            note=SLA_NOTE,
        ),
    ]


def rejection_tables(report: AlignmentReport) -> list[Table]:
    rejections = report.rejections
    columns = [*rejections.reasons, "Total"]
    note = "From the reason a rep chose when rejecting the lead in the period."
    return [
        Table(
            "rejections_campaign",
            "Why sales rejected leads, by campaign",
            ["Campaign", *columns],
            [[name, *counts, sum(counts)] for name, counts in rejections.by_campaign],
            note=note,
        ),
        Table(
            "rejections_source",
            "Why sales rejected leads, by source",
            ["Source", *columns],
            [[name, *counts, sum(counts)] for name, counts in rejections.by_source],
            note=note,
        ),
    ]


def gap_table(rows: list[GapRow], pipeline_amount: Decimal) -> Table:
    return Table(
        "revenue_gap",
        "What the target needs, beside what the pipeline holds now",
        ["Stage", "Needed", "In pipeline now", "Gap"],
        [[r.label, r.needed, r.have, r.gap] for r in rows],
        chart={"type": "bar", "series": [1, 2]},
        note=f"Open opportunities are worth {money(pipeline_amount)} now.",
    )


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = formula_safe_writer(out)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue()
