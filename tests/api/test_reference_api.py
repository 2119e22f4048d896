"""Campaigns, the lead definition, funnel metrics and the imports API under /api/."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.selectors_uld import uld_active
from reporting.services import rollups_refresh
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_campaigns_show_cost_to_marketing_but_not_to_reps(as_user, marketer, alice):
    campaign = CampaignFactory(cost=1234)
    LeadFactory(campaign=campaign)
    row = as_user(marketer).get(reverse("api:campaign_detail", args=[campaign.pk])).json()
    assert (row["cost"], row["lead_count"]) == ("1234.00", 1)
    rep_row = as_user(alice).get(reverse("api:campaign_list")).json()["results"][0]
    assert rep_row["id"] == campaign.pk and rep_row["cost"] is None


def test_active_uld_with_its_rejection_reasons(as_user, alice):
    body = as_user(alice).get(reverse("api:uld_active")).json()
    active = uld_active()
    assert (body["id"], body["status"]) == (active.pk, "agreed")
    assert "not_now" in [r["code"] for r in body["rejection_reasons"]]


def test_uld_versions_list_and_detail(as_user, executive):
    client = as_user(executive)
    listed = client.get(reverse("api:uld_versions")).json()["results"]
    detail = client.get(reverse("api:uld_version", args=[listed[0]["id"]])).json()
    assert detail["number"] == listed[0]["number"] and "grade_a_min" in detail
    assert client.get(reverse("api:uld_version", args=[999999])).status_code == 404


def test_funnel_counts_the_dashboards_numbers(as_user, executive):
    LeadFactory()
    LeadFactory()
    rollups_refresh()
    body = as_user(executive).get(reverse("api:funnel"), {"period": "this_month"}).json()
    flow = {row["stage"]: row["count"] for row in body["flow"]}
    assert flow["inquiry"] == 2
    assert {row["stage"]: row["count"] for row in body["cohort"]}["inquiry"] == 2


def test_funnel_is_scoped_to_the_reps_own_leads(as_user, alice, bob):
    LeadFactory(owner=bob)
    LeadFactory(owner=alice)
    rollups_refresh()
    body = as_user(alice).get(reverse("api:funnel")).json()
    assert {row["stage"]: row["count"] for row in body["cohort"]}["inquiry"] == 1


def test_funnel_refuses_a_bad_filter(as_user, executive):
    response = as_user(executive).get(reverse("api:funnel"), {"period": "custom", "start": "2026-01-10"})
    assert response.status_code == 400 and "custom period" in str(response.json())


def test_funnel_refuses_another_reps_numbers_to_a_rep(as_user, alice, bob):
    assert as_user(alice).get(reverse("api:funnel"), {"rep": bob.pk}).status_code == 400


def test_imports_upload_under_api_needs_the_imports_scope(token_client, marketer):
    campaign = CampaignFactory()
    upload = {"file": SimpleUploadedFile("x.csv", b"email\na@example.com\n"), "campaign": campaign.pk, "start": False}
    assert token_client(marketer, ["leads:write"]).post("/api/imports/", upload).status_code == 403
    upload["file"].seek(0)
    response = token_client(marketer, ["imports:write"]).post("/api/imports/", upload)
    assert response.status_code == 201, response.content
    status = token_client(marketer, ["imports:write"]).get(f"/api/imports/{response.json()['id']}/").json()
    assert status["status"] == "draft"
