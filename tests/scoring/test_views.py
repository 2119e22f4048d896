from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from leads.models import ULDStatus
from leads.services.activities import activity_record
from leads.services.uld import uld_draft_create
from scoring.models import FitRule
from scoring.services import leads_score
from tests.factories import LeadFactory


@pytest.fixture
def draft(marketer, active_uld):
    return uld_draft_create(by=marketer)


def test_rules_page_is_read_only_for_a_rep(client, alice, active_uld):
    client.force_login(alice)
    response = client.get(reverse("scoring:rules", args=[active_uld.pk]))
    assert response.status_code == 200
    assert b"Visited pricing" in response.content
    assert b"Add a fit rule" not in response.content


def test_marketer_adds_a_fit_rule_to_a_draft(client, marketer, draft):
    client.force_login(marketer)
    page = client.get(reverse("scoring:rules", args=[draft.pk]))
    assert b"Add a fit rule" in page.content
    response = client.post(
        reverse("scoring:fit_rule_add", args=[draft.pk]),
        {"label": "Enterprise", "field": "employees", "operator": "range", "value": "1000-", "points": "7"},
        follow=True,
    )
    rule = FitRule.objects.get(uld_version=draft, label="Enterprise")
    assert rule.value == {"min": 1000, "max": None}
    assert "Added fit rule" in response.content.decode()


def test_a_rule_that_cannot_apply_is_refused_with_its_name(client, marketer, draft):
    client.force_login(marketer)
    response = client.post(
        reverse("scoring:fit_rule_add", args=[draft.pk]),
        {"label": "Industries", "field": "industry", "operator": "one_of", "value": " , ", "points": "5"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Fit rule “Industries”: the list of values is empty" in response.content.decode()
    response = client.post(
        reverse("scoring:engagement_rule_add", args=[draft.pk]),
        {"label": "Fading", "kind": "web_visit", "points": "3", "half_life_days": "-2"},
        follow=True,
    )
    assert "Engagement rule “Fading”: the half-life must be more than 0 days" in response.content.decode()


def test_rep_cannot_post_rules(client, alice, draft):
    client.force_login(alice)
    response = client.post(
        reverse("scoring:fit_rule_add", args=[draft.pk]),
        {"label": "X", "field": "title", "operator": "is_set", "value": "", "points": "1"},
    )
    assert response.status_code == 403
    assert not FitRule.objects.filter(uld_version=draft, label="X").exists()


def test_simulation_compares_draft_with_active(client, marketer, draft):
    lead = LeadFactory(
        title="VP Sales", company_name="Acme", authority="decision_maker", employees=500, industry="software"
    )
    leads_score(lead_ids=[lead.pk])
    FitRule.objects.filter(uld_version=draft, label="Decision maker").update(points=40)
    client.force_login(marketer)
    response = client.get(reverse("scoring:simulate", args=[draft.pk]))
    assert response.status_code == 200
    simulation = response.context["simulation"]
    assert simulation.grades_active["B"] == 1 and simulation.grades_draft["A"] == 1
    assert (simulation.ready_active, simulation.ready_draft, simulation.changed) == (0, 1, 1)


def test_simulation_is_not_for_reps(client, alice, draft):
    client.force_login(alice)
    assert client.get(reverse("scoring:simulate", args=[draft.pk])).status_code == 403


def test_lead_score_explanation_sums_to_the_total(client, alice, active_uld):
    lead = LeadFactory(owner=alice, title="VP Sales", company_name="Acme", budget=Decimal("10"))
    activity_record(lead=lead, kind="web_visit", payload={"url": "/pricing"})
    leads_score(lead_ids=[lead.pk])
    client.force_login(alice)
    response = client.get(reverse("scoring:lead_score", args=[lead.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    result = response.context["explanation"].result
    assert sum(c.points for c in result.contributions) == result.total == 12 + 5 + 10 + 1
    assert b"Visited pricing" in response.content
    page = client.get(lead.get_absolute_url())
    assert reverse("scoring:lead_score", args=[lead.pk]).encode() in page.content


def test_lead_score_of_another_reps_lead_is_not_found(client, alice, charlie, active_uld):
    lead = LeadFactory(owner=charlie)
    client.force_login(alice)
    assert client.get(reverse("scoring:lead_score", args=[lead.pk])).status_code == 404


def test_scoring_home_opens_the_draft_in_progress(client, manager, draft):
    client.force_login(manager)
    response = client.get(reverse("scoring:index"))
    assert response.url == reverse("scoring:rules", args=[draft.pk])


def test_runs_page_for_editors_only(client, marketer, executive, active_uld):
    client.force_login(executive)
    assert client.get(reverse("scoring:runs")).status_code == 403
    client.force_login(marketer)
    assert client.get(reverse("scoring:runs")).status_code == 200
    assert active_uld.status == ULDStatus.AGREED
