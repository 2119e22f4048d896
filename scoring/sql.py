"""The scoring semantics of `scoring.engine` as one set-based PostgreSQL query over many leads.

Built from the rules at run time (rules are data), with every value passed as a parameter. The property
test `tests/scoring/test_engine_equivalence.py` checks this equals the Python engine on random input.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from leads.models import Activity, Lead
from leads.models.uld import REQUIRED_FACTS

from .engine import MAX_HALF_LIVES
from .models import Operator, PayloadOperator
from .rules import NUMBER_FIELDS

LEAD_TABLE = Lead._meta.db_table
ACTIVITY_TABLE = Activity._meta.db_table


class Sql:
    """A fragment of SQL and its parameters, in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list = []

    def add(self, text: str, *params) -> Sql:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def extend(self, other: Sql) -> Sql:
        self.parts.extend(other.parts)
        self.params.extend(other.params)
        return self

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _num(value) -> Decimal:
    return Decimal(str(value))


def fit_condition(rule) -> Sql:
    col = f'l."{rule.field}"'
    op, value = rule.operator, rule.value
    text = f"lower(coalesce({col}, ''))"
    if op == Operator.EMAIL_DOMAIN_IN:
        domain = f"(CASE WHEN strpos({text}, '@') > 0 THEN substr({text}, strpos({text}, '@') + 1) ELSE '' END)"
        return Sql().add(f"{domain} = ANY(%s)", [v.lower() for v in value])
    if rule.field in NUMBER_FIELDS:
        if op == Operator.IS_SET:
            return Sql().add(f"{col} IS NOT NULL")
        if op == Operator.EQUALS:
            return Sql().add(f"{col} = %s", _num(value))
        if op == Operator.ONE_OF:
            return Sql().add(f"{col} = ANY(%s::numeric[])", [_num(v) for v in value])
        sql = Sql().add(f"{col} IS NOT NULL")
        if value.get("min") is not None:
            sql.add(f" AND {col} >= %s", _num(value["min"]))
        if value.get("max") is not None:
            sql.add(f" AND {col} <= %s", _num(value["max"]))
        return sql
    if op == Operator.IS_SET:
        return Sql().add(f"coalesce({col}, '') <> ''")
    if op == Operator.EQUALS:
        return Sql().add(f"{text} = %s", value.lower())
    if op == Operator.ONE_OF:
        return Sql().add(f"{text} = ANY(%s::text[])", [v.lower() for v in value])
    if op == Operator.CONTAINS:
        return Sql().add(f"strpos({text}, %s) > 0", value.lower())
    return Sql().add(f"left({text}, %s) = %s", len(value), value.lower())


def _activity_condition(rule, now: dt.datetime) -> Sql:
    sql = Sql().add("a.kind = %s", rule.kind)
    if rule.expires_after_days is not None:
        sql.add(" AND a.occurred_at > %s", now - dt.timedelta(days=rule.expires_after_days))
    if rule.payload_key:
        payload = "lower(a.payload ->> %s)"
        if rule.payload_operator == PayloadOperator.EQUALS:
            sql.add(f" AND {payload} = %s", rule.payload_key, rule.payload_value.lower())
        else:
            sql.add(f" AND strpos({payload}, %s) > 0", rule.payload_key, rule.payload_value.lower())
    return sql


def _occurrence_value(rule, now: dt.datetime) -> Sql:
    if rule.half_life_days is None:
        return Sql().add("%s::bigint", rule.points * 1000)
    age_days = "floor((extract(epoch from %s::timestamptz) - extract(epoch from a.occurred_at)) / 86400)"
    return Sql().add(
        f"floor(%s::float8 * power(0.5::float8, LEAST({age_days}::float8 / %s::float8, %s::float8)) + 0.5)::bigint",
        rule.points * 1000,
        now,
        rule.half_life_days,
        MAX_HALF_LIVES,
    )


def _rule_points(rule, column: str) -> Sql:
    raw = f"coalesce({column}, 0)"
    if rule.cap is None:
        return Sql().add(f"floor(({raw} + 500) / 1000)")
    return Sql().add(f"floor((LEAST(GREATEST({raw}, %s), %s) + 500) / 1000)", -rule.cap * 1000, rule.cap * 1000)


def graded_select(
    *, version, fit_rules, engagement_rules, now: dt.datetime, lead_filter: Sql, lead_table: str = LEAD_TABLE
) -> Sql:
    """Return a SELECT of (id, stage, old_score, old_grade, fit, eng, total, grade) for the filtered leads.

    `lead_filter` is a condition on `l.id` written twice: for leads (alias l) and, renamed, activities.
    `lead_table` is the lead table or a staging copy of it (same columns) holding leads not inserted yet.
    """
    fit_rules = [r for r in fit_rules if r.points]
    engagement_rules = list(engagement_rules)
    fit = Sql()
    for rule in fit_rules:
        fit.add("(CASE WHEN ").extend(fit_condition(rule)).add(" THEN %s ELSE 0 END) + ", rule.points)
    fit.add("0")
    inner = Sql().add(f"SELECT l.id, l.stage, l.score AS old_score, l.grade AS old_grade, ({fit.text}) AS fit, ")
    inner.params.extend(fit.params)
    if engagement_rules:
        eng = Sql()
        for i, rule in enumerate(engagement_rules):
            eng.extend(_rule_points(rule, f"e.r{i}")).add(" + ")
        eng.add("0")
        inner.add("(").extend(eng).add(")::int AS eng FROM ")
        inner.add(f"{lead_table} l LEFT JOIN (SELECT a.lead_id")
        for i, rule in enumerate(engagement_rules):
            inner.add(", SUM(CASE WHEN ").extend(_activity_condition(rule, now)).add(" THEN ")
            inner.extend(_occurrence_value(rule, now)).add(f" END) AS r{i}")
        activity_filter = Sql().add(lead_filter.text.replace("l.id", "a.lead_id"))
        activity_filter.params.extend(lead_filter.params)
        inner.add(f" FROM {ACTIVITY_TABLE} a WHERE ").extend(activity_filter)
        inner.add(
            " AND a.occurred_at <= %s AND a.kind = ANY(%s::text[])", now, sorted({r.kind for r in engagement_rules})
        )
        inner.add(" GROUP BY a.lead_id) e ON e.lead_id = l.id WHERE ").extend(lead_filter)
    else:
        inner.add(f"0 AS eng FROM {lead_table} l WHERE ").extend(lead_filter)
    graded = Sql().add(
        "SELECT c.*, c.fit + c.eng AS total, CASE WHEN c.fit + c.eng >= %s THEN 'A' ", version.grade_a_min
    )
    graded.add(
        "WHEN c.fit + c.eng >= %s THEN 'B' WHEN c.fit + c.eng >= %s THEN 'C' ELSE 'D' END AS grade FROM (",
        version.grade_b_min,
        version.grade_c_min,
    )
    # OFFSET 0 keeps `c` a subquery: flattened, each use of c.fit and c.eng (the total, the grade's three
    # bounds, the caller's change test) would evaluate every rule's expression again.
    return graded.extend(inner).add(" OFFSET 0) c")


def sales_ready_condition(*, version, grade_column: str) -> Sql:
    """Return the SQL form of `engine.sales_ready_gaps(...) == []` on lead alias `l`."""
    sql = Sql().add(f"{grade_column} = ANY(%s::text[])", version.sales_ready_grades)
    for fact in version.required_facts:
        if fact not in REQUIRED_FACTS:
            continue
        if fact == "reachable":
            sql.add(" AND (l.email IS NOT NULL OR coalesce(l.phone, '') <> '')")
        elif fact in NUMBER_FIELDS:
            sql.add(f' AND l."{fact}" IS NOT NULL')
        else:
            sql.add(f""" AND coalesce(l."{fact}", '') <> ''""")
    for field, allowed in (version.icp_must_haves or {}).items():
        sql.add(f""" AND lower(coalesce(l."{field}", '')) = ANY(%s::text[])""", [str(v).lower() for v in allowed])
    return sql


def id_range(first_id: int, last_id: int) -> Sql:
    return Sql().add("l.id BETWEEN %s AND %s", first_id, last_id)


def id_list(ids: list[int]) -> Sql:
    return Sql().add("l.id = ANY(%s::bigint[])", list(ids))
