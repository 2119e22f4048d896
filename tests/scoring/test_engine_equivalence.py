"""The set-based SQL path gives exactly the Python engine's scores on random rules, leads, activities, times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadops.errors import ApplicationError
from leads.models import Activity, Lead, ULDVersion
from leads.services.lifecycle import leads_bulk_create
from scoring.models import EngagementRule, FitRule
from scoring.rules import engagement_rule_check, fit_rule_check
from scoring.selectors import scores_compute_python
from scoring.sql import graded_select, id_list

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based path is PostgreSQL's")

BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
words = st.text(alphabet="abAB@./x", max_size=5)
text_lists = st.lists(words.filter(lambda w: w.strip()), min_size=1, max_size=3)
payload_values = st.sampled_from(["/pricing", "/a", "HOT", "b.", "5"]) | words.filter(bool)
numbers = st.integers(min_value=-5, max_value=1200)


@st.composite
def fit_rules(draw):
    field = draw(st.sampled_from(["title", "industry", "country", "email", "employees", "budget"]))
    if field in ("employees", "budget"):
        operator = draw(st.sampled_from(["equals", "one_of", "range", "is_set"]))
        value = {
            "equals": numbers,
            "one_of": st.lists(numbers, min_size=1, max_size=3),
            "range": st.fixed_dictionaries({"min": st.none() | numbers, "max": st.none() | numbers}),
            "is_set": st.none(),
        }[operator]
    else:
        ops = ["equals", "one_of", "contains", "starts_with", "is_set"]
        ops += ["email_domain_in"] if field == "email" else []
        operator = draw(st.sampled_from(ops))
        value = {
            "equals": words,
            "one_of": text_lists,
            "contains": words.filter(bool),
            "starts_with": words.filter(bool),
            "is_set": st.none(),
            "email_domain_in": st.lists(st.sampled_from(["ab.x", "gmail.com", "b"]), min_size=1, max_size=2),
        }[operator]
    rule = FitRule(label="r", field=field, operator=operator, value=draw(value), points=draw(st.integers(-50, 50)))
    try:
        fit_rule_check(rule)
    except ApplicationError:
        return FitRule(label="r", field="title", operator="is_set", value=None, points=3)
    return rule


@st.composite
def engagement_rules(draw):
    condition = draw(st.sampled_from(["", "", "url", "rating"]))
    rule = EngagementRule(
        label="e",
        kind=draw(st.sampled_from(["web_visit", "badge_scan", "email_open"])),
        payload_key=condition,
        payload_operator=draw(st.sampled_from(["equals", "contains"])) if condition else "",
        payload_value=draw(payload_values) if condition else "",
        points=draw(st.integers(-100, 100)),
        cap=draw(st.none() | st.none() | st.integers(0, 300)),
        half_life_days=draw(st.none() | st.integers(1, 90) | st.just(7)),
        expires_after_days=draw(st.none() | st.integers(1, 120)),
    )
    engagement_rule_check(rule)
    return rule


leads_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "title": words,
            "industry": words,
            "country": st.sampled_from(["", "US", "us", "DE"]),
            "domain": st.sampled_from(["ab.x", "AB.x", "gmail.com", None]),
            "employees": st.none() | numbers.filter(lambda n: n >= 0),
            "budget": st.none() | st.decimals(min_value=0, max_value=2000, places=2),
        }
    ),
    min_size=1,
    max_size=6,
)
ages = st.floats(min_value=0, max_value=60, allow_nan=False)
activities_strategy = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(["web_visit", "badge_scan", "email_open", "call"]),
        st.one_of(ages, ages, st.floats(min_value=-2, max_value=3000, allow_nan=False)),
        st.sampled_from([{}, {"url": "/pricing"}, {"url": "/a/B."}, {"rating": "hot"}, {"rating": 5}, {"url": None}]),
    ),
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fits=st.lists(fit_rules(), max_size=5),
    engagements=st.lists(engagement_rules(), max_size=4),
    leads=leads_strategy,
    activities=activities_strategy,
    now_offset=st.floats(min_value=0, max_value=60, allow_nan=False),
    bands=st.tuples(st.integers(-20, 80), st.integers(-20, 80), st.integers(-20, 80)),
)
def test_sql_scores_equal_python_scores(fits, engagements, leads, activities, now_offset, bands):
    uld = ULDVersion(number=99, grade_a_min=bands[0], grade_b_min=bands[1], grade_c_min=bands[2])
    now = BASE + dt.timedelta(days=now_offset)
    with transaction.atomic():
        created = leads_bulk_create(
            leads=[
                Lead(
                    title=spec["title"],
                    industry=spec["industry"],
                    country=spec["country"],
                    email=f"p{i}@{spec['domain']}" if spec["domain"] else None,
                    phone="" if spec["domain"] else "555",
                    employees=spec["employees"],
                    budget=spec["budget"],
                    created_at=BASE,
                )
                for i, spec in enumerate(leads)
            ]
        )
        Activity.objects.bulk_create(
            Activity(lead=created[i % len(created)], kind=kind, occurred_at=BASE - dt.timedelta(days=ago), payload=p)
            for i, kind, ago, p in activities
        )
        fresh = list(Lead.objects.filter(pk__in=[lead.pk for lead in created]).order_by("pk"))
        expected = {
            lead.pk: (r.fit, r.engagement, r.total, r.grade)
            for lead, r in scores_compute_python(
                version=uld, fit_rules=fits, engagement_rules=engagements, leads=fresh, now=now
            )
        }
        sql = graded_select(
            version=uld, fit_rules=fits, engagement_rules=engagements, now=now, lead_filter=id_list(list(expected))
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, fit, eng, total, grade FROM ({sql.text}) s", sql.params)
            actual = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
        transaction.set_rollback(True)
    assert actual == expected


def test_decimal_budget_range_matches_on_both_paths_at_the_boundary(db):
    lead = leads_bulk_create(leads=[Lead(email="b@x.example", budget=Decimal("100.00"), created_at=BASE)])[0]
    rule = FitRule(label="Budget", field="budget", operator="range", value={"min": 100, "max": 100.0}, points=5)
    uld = ULDVersion(number=98, grade_a_min=70, grade_b_min=45, grade_c_min=20)
    sql = graded_select(version=uld, fit_rules=[rule], engagement_rules=[], now=BASE, lead_filter=id_list([lead.pk]))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fit FROM ({sql.text}) s", sql.params)
        assert cursor.fetchone()[0] == 5
