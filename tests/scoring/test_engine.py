from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leadops.errors import ApplicationError
from leads.models import Lead, ULDVersion
from scoring.engine import lead_score_compute, sales_ready_gaps
from scoring.models import EngagementRule, FitRule
from scoring.rules import engagement_rule_check, fit_rule_check
from scoring.selectors import ActivityFact

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def version(**kwargs) -> ULDVersion:
    return ULDVersion(number=7, grade_a_min=70, grade_b_min=45, grade_c_min=20, **kwargs)


def fit(field, operator, value, points, label="rule"):
    return FitRule(label=label, field=field, operator=operator, value=value, points=points)


def engagement(kind="web_visit", points=10, **kwargs):
    return EngagementRule(label=kwargs.pop("label", f"{kind} rule"), kind=kind, points=points, **kwargs)


def score(lead, fit_rules=(), engagement_rules=(), activities=(), uld=None):
    return lead_score_compute(
        version=uld or version(),
        fit_rules=list(fit_rules),
        engagement_rules=list(engagement_rules),
        lead=lead,
        activities=list(activities),
        now=NOW,
    )


def visit(days_ago: float, **payload) -> ActivityFact:
    return ActivityFact("web_visit", NOW - dt.timedelta(days=days_ago), payload)


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        (fit("title", "contains", "VP", 1), True),
        (fit("title", "starts_with", "senior", 1), True),
        (fit("title", "equals", "senior vp sales", 1), True),
        (fit("industry", "one_of", ["Retail", "software"], 1), True),
        (fit("industry", "one_of", ["Retail"], 1), False),
        (fit("employees", "range", {"min": 200, "max": 5000}, 1), True),
        (fit("employees", "range", {"min": 501}, 1), False),
        (fit("employees", "equals", 500, 1), True),
        (fit("budget", "is_set", None, 1), True),
        (fit("country", "is_set", None, 1), False),
        (fit("email", "email_domain_in", ["Acme.example"], 1), True),
        (fit("email", "email_domain_in", ["gmail.com"], 1), False),
    ],
)
def test_fit_operators(rule, matches):
    lead = Lead(
        title="Senior VP Sales", industry="Software", employees=500, budget=Decimal("10"), email="a@acme.example"
    )
    assert score(lead, [rule]).fit == (1 if matches else 0)


def test_negative_fit_points_for_free_mail():
    lead = Lead(email="someone@gmail.com")
    result = score(lead, [fit("email", "email_domain_in", ["gmail.com"], -15, label="Free mail")])
    assert result.total == -15
    assert result.contributions[0].label == "Free mail"
    assert result.grade == "D"


def test_engagement_halves_each_half_life_and_caps():
    rule = engagement(points=10, half_life_days=7)
    assert score(Lead(), engagement_rules=[rule], activities=[visit(0)]).engagement == 10
    assert score(Lead(), engagement_rules=[rule], activities=[visit(7)]).engagement == 5
    assert score(Lead(), engagement_rules=[rule], activities=[visit(14.5)]).engagement == 3  # 2.5 rounds up
    capped = engagement(points=10, cap=25)
    assert score(Lead(), engagement_rules=[capped], activities=[visit(1)] * 5).engagement == 25


def test_engagement_expiry_and_future_activities_do_not_count():
    rule = engagement(points=4, expires_after_days=30)
    activities = [visit(29), visit(31), visit(-1)]
    assert score(Lead(), engagement_rules=[rule], activities=activities).engagement == 4


def test_payload_condition_pricing_page_and_badge_rating():
    pricing = engagement(points=10, payload_key="url", payload_operator="contains", payload_value="/pricing")
    hot = engagement(kind="badge_scan", points=25, payload_key="rating", payload_operator="equals", payload_value="hot")
    activities = [
        visit(1, url="https://x.example/pricing"),
        visit(1, url="https://x.example/blog"),
        ActivityFact("badge_scan", NOW - dt.timedelta(days=2), {"rating": "HOT"}),
        ActivityFact("badge_scan", NOW - dt.timedelta(days=2), {"rating": "cold"}),
    ]
    result = score(Lead(), engagement_rules=[pricing, hot], activities=activities)
    assert [c.points for c in result.contributions] == [10, 25]


def test_contributions_sum_exactly_to_total_with_rounding():
    rules = [engagement(points=3, half_life_days=3, label=f"r{i}") for i in range(5)]
    lead = Lead(title="VP")
    result = score(lead, [fit("title", "contains", "vp", 7)], rules, [visit(d) for d in (1, 2, 4, 5)])
    assert sum(c.points for c in result.contributions) == result.total == result.fit + result.engagement
    assert all(isinstance(c.points, int) for c in result.contributions)


def test_grade_bands():
    uld = version()
    assert [uld.grade_for(s) for s in (70, 69, 45, 20, 19, -5)] == ["A", "B", "B", "C", "D", "D"]


def test_sales_ready_needs_grade_facts_and_icp():
    uld = version(sales_ready_min_grade="A", required_facts=["company_name", "title", "reachable"])
    uld.icp_must_haves = {"country": ["US", "CA"]}
    lead = Lead(company_name="Acme", title="CTO", email="x@acme.example", country="us")
    assert sales_ready_gaps(version=uld, lead=lead, grade="A") == []
    gaps = sales_ready_gaps(version=uld, lead=Lead(phone="123", country="DE"), grade="B")
    assert len(gaps) == 4
    assert any("company" in g for g in gaps)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (fit("shoe_size", "equals", "9", 1, label="Shoes"), "Fit rule “Shoes”: unknown lead field"),
        (fit("employees", "equals", "many", 1, label="Big"), "Fit rule “Big”: employees is a number"),
        (fit("industry", "one_of", [], 1, label="Industries"), "Fit rule “Industries”: the list of values is empty"),
        (fit("title", "range", {"min": 1}, 1, label="T"), "does not apply"),
        (fit("title", "email_domain_in", ["x.com"], 1, label="D"), "applies only to the email field"),
        (fit("employees", "range", {"min": 9, "max": 1}, 1, label="R"), "minimum is above its maximum"),
    ],
)
def test_fit_rules_that_cannot_apply_are_refused_by_name(rule, message):
    with pytest.raises(ApplicationError, match=message):
        fit_rule_check(rule)


def test_engagement_rules_that_cannot_apply_are_refused_by_name():
    with pytest.raises(ApplicationError, match="Engagement rule “Fading”: the half-life must be more than 0"):
        engagement_rule_check(engagement(label="Fading", half_life_days=-3))
    with pytest.raises(ApplicationError, match="“Odd”: unknown activity kind"):
        engagement_rule_check(engagement(kind="telepathy", label="Odd"))
    with pytest.raises(ApplicationError, match="needs a value"):
        engagement_rule_check(engagement(label="Cond", payload_key="url", payload_operator="contains"))
