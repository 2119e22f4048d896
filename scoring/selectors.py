"""Reads for scoring: a version's rules, a lead's explained score, re-score runs, draft simulation."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Activity, Lead, ULDVersion
from leads.selectors import lead_scope
from leads.selectors_uld import uld_active

from .engine import ScoreResult, lead_score_compute, sales_ready_gaps
from .models import EngagementRule, FitRule, RescoreRun, ScoreHistory
from .sql import Sql, graded_select, sales_ready_condition


def rules_for(*, version: ULDVersion) -> tuple[list[FitRule], list[EngagementRule]]:
    return list(FitRule.objects.filter(uld_version=version)), list(EngagementRule.objects.filter(uld_version=version))


class ActivityFact(NamedTuple):
    kind: str
    occurred_at: dt.datetime
    payload: dict


def scores_compute_python(
    *, version: ULDVersion, fit_rules, engagement_rules, leads: list[Lead], now: dt.datetime
) -> Iterator[tuple[Lead, ScoreResult]]:
    """Score many leads with the Python engine, reading their activities in one query."""
    by_lead: dict[int, list[ActivityFact]] = defaultdict(list)
    kinds = {r.kind for r in engagement_rules}
    if kinds and leads:
        rows = Activity.objects.filter(
            lead_id__in=[lead.pk for lead in leads], kind__in=kinds, occurred_at__lte=now
        ).values_list("lead_id", "kind", "occurred_at", "payload")
        for lead_id, kind, occurred_at, payload in rows:
            by_lead[lead_id].append(ActivityFact(kind, occurred_at, payload))
    for lead in leads:
        yield (
            lead,
            lead_score_compute(
                version=version,
                fit_rules=fit_rules,
                engagement_rules=engagement_rules,
                lead=lead,
                activities=by_lead.get(lead.pk, []),
                now=now,
            ),
        )


@dataclass(frozen=True)
class ScoreExplanation:
    version: ULDVersion
    result: ScoreResult
    stored_score: int
    stored_grade: str
    history: list[ScoreHistory]
    sales_ready_gaps: list[str]
    as_of: dt.datetime

    @property
    def is_current(self) -> bool:
        return (self.stored_score, self.stored_grade) == (self.result.total, self.result.grade)

    @property
    def trend(self) -> list[int]:
        return [h.score for h in self.history] + ([] if self.is_current else [self.result.total])


def lead_score_explain(*, lead: Lead, now: dt.datetime | None = None) -> ScoreExplanation | None:
    """Return the lead's score under the active definition now, with the contributions that make it up."""
    version = uld_active()
    if version is None:
        return None
    now = now or timezone.now()
    fit_rules, engagement_rules = rules_for(version=version)
    [(_, result)] = scores_compute_python(
        version=version, fit_rules=fit_rules, engagement_rules=engagement_rules, leads=[lead], now=now
    )
    history = list(ScoreHistory.objects.filter(lead=lead).order_by("-at", "-id")[:20])[::-1]
    return ScoreExplanation(
        version=version,
        result=result,
        stored_score=lead.score,
        stored_grade=lead.grade,
        history=history,
        sales_ready_gaps=sales_ready_gaps(version=version, lead=lead, grade=result.grade),
        as_of=now,
    )


def rescore_runs(*, limit: int = 20) -> QuerySet[RescoreRun]:
    return RescoreRun.objects.select_related("uld_version").order_by("-started_at", "-id")[:limit]


@dataclass
class Simulation:
    draft: ULDVersion
    active: ULDVersion | None
    leads: int = 0
    grades_active: Counter = field(default_factory=Counter)
    grades_draft: Counter = field(default_factory=Counter)
    ready_active: int = 0
    ready_draft: int = 0
    changed: int = 0
    # (outcome, grade) -> count, per version: won/lost leads by the grade each version gives them.
    outcomes_active: Counter = field(default_factory=Counter)
    outcomes_draft: Counter = field(default_factory=Counter)
    changed_sample: list[tuple[Lead, str, str]] = field(default_factory=list)

    def add(self, *, grade_active: str, grade_draft: str, ready_active: bool, ready_draft: bool, stage: str, n: int):
        self.leads += n
        self.grades_active[grade_active] += n
        self.grades_draft[grade_draft] += n
        self.ready_active += n if ready_active else 0
        self.ready_draft += n if ready_draft else 0
        self.changed += n if grade_active != grade_draft else 0
        if stage in (Stage.WON, Stage.LOST):
            self.outcomes_active[(stage, grade_active)] += n
            self.outcomes_draft[(stage, grade_draft)] += n

    def rows(self) -> list[dict]:
        """Per grade: leads under each version and win rate of leads with a known outcome."""
        out = []
        for grade in "ABCD":
            out.append(
                {
                    "grade": grade,
                    "active": self.grades_active[grade],
                    "draft": self.grades_draft[grade],
                    "win_rate_active": _win_rate(self.outcomes_active, grade),
                    "win_rate_draft": _win_rate(self.outcomes_draft, grade),
                }
            )
        return out


def _win_rate(outcomes: Counter, grade: str) -> float | None:
    won, lost = outcomes[(Stage.WON, grade)], outcomes[(Stage.LOST, grade)]
    return None if won + lost == 0 else won / (won + lost)


SAMPLE = 50


def simulation_run(*, draft: ULDVersion, user, now: dt.datetime | None = None) -> Simulation:
    """Score every current lead under the draft and under the active version, writing nothing.

    The counts cover every lead (the definition applies to all of them); the example leads named on the
    page are only those `user` may see, so a manager never reads another team's leads here.
    """
    now = now or timezone.now()
    active = uld_active()
    simulation = Simulation(draft=draft, active=active)
    base = active or draft
    if connection.vendor == "postgresql":
        _simulate_sql(simulation, base=base, now=now)
    else:
        _simulate_python(simulation, base=base, now=now)
    sample_ids = [lead.pk for lead, _, _ in simulation.changed_sample]
    visible = set(lead_scope(user=user).filter(pk__in=sample_ids).values_list("pk", flat=True))
    simulation.changed_sample = [row for row in simulation.changed_sample if row[0].pk in visible]
    return simulation


def _versions_join(*, base: ULDVersion, draft: ULDVersion, now: dt.datetime) -> Sql:
    everyone = Sql().add("l.id IS NOT NULL")
    sql = Sql().add("WITH a AS (")
    fit, eng = rules_for(version=base)
    sql.extend(graded_select(version=base, fit_rules=fit, engagement_rules=eng, now=now, lead_filter=everyone))
    sql.add("), d AS (")
    fit, eng = rules_for(version=draft)
    sql.extend(graded_select(version=draft, fit_rules=fit, engagement_rules=eng, now=now, lead_filter=everyone))
    sql.add(") SELECT l.id, l.stage, a.grade AS ga, d.grade AS gd, (")
    sql.extend(sales_ready_condition(version=base, grade_column="a.grade")).add(") AS ra, (")
    sql.extend(sales_ready_condition(version=draft, grade_column="d.grade")).add(") AS rd ")
    sql.add("FROM a JOIN d ON d.id = a.id JOIN leads_lead l ON l.id = a.id")
    return sql


def _simulate_sql(simulation: Simulation, *, base: ULDVersion, now: dt.datetime) -> None:
    joined = _versions_join(base=base, draft=simulation.draft, now=now)
    with connection.cursor() as cursor:
        # The query text is built from rules with every value bound as a parameter.
        grouped = f"SELECT ga, gd, ra, rd, stage, count(*) FROM ({joined.text}) s GROUP BY 1, 2, 3, 4, 5"  # noqa: S608
        cursor.execute(grouped, joined.params)
        for ga, gd, ra, rd, stage, n in cursor.fetchall():
            simulation.add(grade_active=ga, grade_draft=gd, ready_active=ra, ready_draft=rd, stage=stage, n=n)
        if simulation.changed:
            sample_sql = f"SELECT id, ga, gd FROM ({joined.text}) s WHERE ga <> gd LIMIT {SAMPLE}"  # noqa: S608
            cursor.execute(sample_sql, joined.params)
            sample = cursor.fetchall()
            leads = Lead.objects.in_bulk([row[0] for row in sample])
            simulation.changed_sample = [(leads[i], ga, gd) for i, ga, gd in sample if i in leads]


def _lead_batches(size: int = 2000) -> Iterable[list[Lead]]:
    last = 0
    while True:
        batch = list(Lead.objects.filter(pk__gt=last).order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _simulate_python(simulation: Simulation, *, base: ULDVersion, now: dt.datetime) -> None:
    base_rules, draft_rules = rules_for(version=base), rules_for(version=simulation.draft)
    for batch in _lead_batches():
        before = dict(
            scores_compute_python(
                version=base, fit_rules=base_rules[0], engagement_rules=base_rules[1], leads=batch, now=now
            )
        )
        after = scores_compute_python(
            version=simulation.draft, fit_rules=draft_rules[0], engagement_rules=draft_rules[1], leads=batch, now=now
        )
        for lead, result in after:
            old = before[lead]
            simulation.add(
                grade_active=old.grade,
                grade_draft=result.grade,
                ready_active=not sales_ready_gaps(version=base, lead=lead, grade=old.grade),
                ready_draft=not sales_ready_gaps(version=simulation.draft, lead=lead, grade=result.grade),
                stage=lead.stage,
                n=1,
            )
            if old.grade != result.grade and len(simulation.changed_sample) < SAMPLE:
                simulation.changed_sample.append((lead, old.grade, result.grade))
