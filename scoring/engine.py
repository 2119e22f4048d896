"""The scoring semantics, for one lead at a time: the reference the set-based SQL path must equal.

Every contribution is a whole number of points and the total is their sum, so an explanation always adds
up. Engagement is computed in integer milli-points: each occurrence is worth
floor(points * 1000 * 0.5 ** min(age_days / half_life, 1000) + 0.5), where age_days is whole days; the
rule's milli-points are capped at cap * 1000 and rounded once to points with floor((m + 500) / 1000).
`scoring/sql.py` computes the same numbers in PostgreSQL (same IEEE double operations, same libm pow).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import Decimal

from .models import Operator, PayloadOperator
from .rules import NUMBER_FIELDS

DAY = dt.timedelta(days=1)
# 0.5 ** 1000 is still a normal double; PostgreSQL raises on underflow, so both sides clamp here.
MAX_HALF_LIVES = 1000.0


@dataclass(frozen=True)
class Contribution:
    kind: str
    rule_id: int | None
    label: str
    version: int | None
    points: int
    why: str


@dataclass(frozen=True)
class ScoreResult:
    fit: int
    engagement: int
    total: int
    grade: str
    contributions: tuple[Contribution, ...]


def _text(lead, field: str) -> str:
    return str(getattr(lead, field, None) or "").lower()


def fit_matches(rule, lead) -> bool:
    """Return whether the fit rule applies to the lead."""
    op, value = rule.operator, rule.value
    if op == Operator.EMAIL_DOMAIN_IN:
        return _text(lead, "email").partition("@")[2] in {v.lower() for v in value}
    if rule.field in NUMBER_FIELDS:
        actual = getattr(lead, rule.field, None)
        if op == Operator.IS_SET:
            return actual is not None
        if actual is None:
            return False
        actual = Decimal(str(actual))
        if op == Operator.EQUALS:
            return actual == Decimal(str(value))
        if op == Operator.ONE_OF:
            return actual in {Decimal(str(v)) for v in value}
        low, high = value.get("min"), value.get("max")
        return (low is None or actual >= Decimal(str(low))) and (high is None or actual <= Decimal(str(high)))
    actual = _text(lead, rule.field)
    if op == Operator.IS_SET:
        return actual != ""
    if op == Operator.EQUALS:
        return actual == value.lower()
    if op == Operator.ONE_OF:
        return actual in {v.lower() for v in value}
    if op == Operator.CONTAINS:
        return value.lower() in actual
    return actual.startswith(value.lower())


def payload_text(value) -> str | None:
    """Return a payload value as PostgreSQL's `payload ->> key` renders it (None for JSON null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def activity_matches(rule, activity, now: dt.datetime) -> bool:
    """Return whether the activity counts for the rule; its payload key is a top-level key of the payload."""
    if activity.kind != rule.kind or activity.occurred_at > now:
        return False
    if rule.expires_after_days is not None and not activity.occurred_at > now - dt.timedelta(
        days=rule.expires_after_days
    ):
        return False
    if not rule.payload_key:
        return True
    actual = payload_text((activity.payload or {}).get(rule.payload_key))
    if actual is None:
        return False
    if rule.payload_operator == PayloadOperator.EQUALS:
        return actual.lower() == rule.payload_value.lower()
    return rule.payload_value.lower() in actual.lower()


def occurrence_millipoints(rule, occurred_at: dt.datetime, now: dt.datetime) -> int:
    if rule.half_life_days is None:
        return rule.points * 1000
    age_days = (now - occurred_at) // DAY
    factor = 0.5 ** min(age_days / rule.half_life_days, MAX_HALF_LIVES)
    return math.floor(rule.points * 1000 * factor + 0.5)


def rule_points(rule, millipoints: int) -> int:
    """Cap a rule's milli-points and round them once to whole points."""
    if rule.cap is not None:
        millipoints = max(-rule.cap * 1000, min(rule.cap * 1000, millipoints))
    return (millipoints + 500) // 1000


def _fit_why(rule, lead) -> str:
    field = "email domain" if rule.operator == Operator.EMAIL_DOMAIN_IN else rule.field.replace("_", " ")
    actual = _text(lead, "email").partition("@")[2] if rule.operator == Operator.EMAIL_DOMAIN_IN else None
    if actual is None:
        actual = getattr(lead, rule.field, None)
    shown = "" if rule.operator == Operator.IS_SET else f" {_value_text(rule.value)}"
    return f"{field} {Operator(rule.operator).label}{shown} (it is {actual!s})"


def _value_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        if low is None:
            return f"up to {high}"
        if high is None:
            return f"{low} or more"
        return f"{low}–{high}"
    return str(value)


def lead_score_compute(*, version, fit_rules, engagement_rules, lead, activities, now: dt.datetime) -> ScoreResult:
    """Score one lead under `version`'s rules as of `now`, with the contributions that explain it."""
    contributions: list[Contribution] = []
    for rule in fit_rules:
        if rule.points and fit_matches(rule, lead):
            why = _fit_why(rule, lead)
            contributions.append(Contribution("fit", rule.pk, rule.label, version.number, rule.points, why))
    fit = sum(c.points for c in contributions)
    for rule in engagement_rules:
        matching = [a for a in activities if activity_matches(rule, a, now)]
        if not matching:
            continue
        millipoints = sum(occurrence_millipoints(rule, a.occurred_at, now) for a in matching)
        points = rule_points(rule, millipoints)
        if points:
            why = f"{len(matching)} × {rule.points} point(s)"
            if rule.half_life_days is not None:
                why += f", fading by half every {rule.half_life_days} days ({millipoints / 1000:.1f} now)"
            if rule.expires_after_days is not None:
                why += f", counting the last {rule.expires_after_days} days"
            if rule.cap is not None and abs(millipoints) > rule.cap * 1000:
                why += f", capped at {rule.cap}"
            contributions.append(Contribution("engagement", rule.pk, rule.label, version.number, points, why))
    engagement = sum(c.points for c in contributions) - fit
    total = fit + engagement
    return ScoreResult(fit, engagement, total, version.grade_for(total), tuple(contributions))


def sales_ready_gaps(*, version, lead, grade: str) -> list[str]:
    """Return what keeps the lead from being sales-ready under `version` (empty: it is sales-ready)."""
    from leads.models.uld import REQUIRED_FACTS

    gaps = []
    if grade not in version.sales_ready_grades:
        gaps.append(f"grade {grade or 'none'} is below {version.sales_ready_min_grade}")
    for fact in version.required_facts:
        if fact == "reachable":
            present = bool(lead.email or (lead.phone or ""))
        else:
            present = getattr(lead, fact, None) not in (None, "")
        if not present:
            gaps.append(f"missing {REQUIRED_FACTS.get(fact, fact)}")
    for field, allowed in (version.icp_must_haves or {}).items():
        if _text(lead, field) not in {str(v).lower() for v in allowed}:
            gaps.append(f"{field.replace('_', ' ')} is not one of {', '.join(map(str, allowed))}")
    return gaps
