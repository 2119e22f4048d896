"""The leads API: list and filters, create, update within the caller's role, stage actions, activities."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.imports.cleaning import clean_row
from leads.lifecycle import Stage
from leads.models import Activity, AssignmentLog, Lead
from scoring.models import ScoreDirty
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db
ALL_BANT = {"budget": True, "authority": True, "need": True, "timeframe": True}


def url(name, *args):
    return reverse(f"api:{name}", args=args)


@pytest.fixture
def alices_lead(alice):
    return LeadFactory(stage=Stage.MQL, owner=alice, email="ada@example.com", company_name="Acme")


def test_list_shows_only_visible_leads_newest_first(as_user, alice, bob, alices_lead):
    LeadFactory(owner=bob)
    newer = LeadFactory(owner=alice)
    body = as_user(alice).get(url("lead_list")).json()
    assert [row["id"] for row in body["results"]] == [newer.pk, alices_lead.pk]


def test_list_filters_by_stage_and_search(as_user, marketer, alices_lead):
    LeadFactory(stage=Stage.INQUIRY, company_name="Zeta")
    client = as_user(marketer)
    assert [r["id"] for r in client.get(url("lead_list"), {"stage": "mql"}).json()["results"]] == [alices_lead.pk]
    assert [r["id"] for r in client.get(url("lead_list"), {"q": "acm"}).json()["results"]] == [alices_lead.pk]


def test_list_refuses_a_bad_filter_naming_it(as_user, marketer):
    response = as_user(marketer).get(url("lead_list"), {"stage": "nope"})
    assert response.status_code == 400 and "stage" in response.json()


def test_list_pages_with_a_cursor(as_user, marketer):
    ids = sorted((LeadFactory().pk for _ in range(3)), reverse=True)
    client = as_user(marketer)
    first = client.get(url("lead_list"), {"page_size": 2}).json()
    assert [r["id"] for r in first["results"]] == ids[:2] and first["next"]
    second = client.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == ids[2:] and second["next"] is None


def test_marketer_creates_an_inquiry(as_user, marketer):
    campaign = CampaignFactory()
    response = as_user(marketer).post(
        url("lead_list"), {"email": " New@Example.com ", "company_name": "Initech", "campaign": campaign.pk}
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert (lead.email, lead.stage, lead.campaign_id) == ("new@example.com", Stage.INQUIRY, campaign.pk)
    assert lead.stage_changes.get().changed_by == marketer


def test_creating_a_duplicate_email_is_409_with_the_existing_id(as_user, marketer, alices_lead):
    response = as_user(marketer).post(url("lead_list"), {"email": "ADA@example.com"})
    assert response.status_code == 409
    assert response.json()["existing_id"] == alices_lead.pk


def test_create_needs_an_email_or_a_phone(as_user, marketer):
    response = as_user(marketer).post(url("lead_list"), {"company_name": "Nobody"}, format="json")
    assert response.status_code == 400 and "email" in response.json()


def test_rep_cannot_create_leads(as_user, alice):
    assert as_user(alice).post(url("lead_list"), {"email": "x@example.com"}).status_code == 403


def test_create_refuses_stage_naming_the_field(as_user, marketer):
    response = as_user(marketer).post(url("lead_list"), {"email": "x@example.com", "stage": "won"}, format="json")
    assert response.status_code == 400 and "stage" in response.json()
    assert not Lead.objects.filter(email="x@example.com").exists()


def test_rep_updates_facts_of_own_lead_and_it_is_marked_for_rescoring(as_user, alice, alices_lead):
    ScoreDirty.objects.all().delete()
    response = as_user(alice).patch(url("lead_detail", alices_lead.pk), {"title": "CTO", "employees": 120})
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["size_band"]) == ("CTO", "51-200")
    assert ScoreDirty.objects.filter(lead_id=alices_lead.pk).exists()


@pytest.mark.parametrize("field, value", [("owner", 1), ("score", 99), ("grade", "A"), ("stage", "won")])
def test_rep_cannot_set_owner_score_grade_or_stage(as_user, alice, alices_lead, field, value):
    response = as_user(alice).patch(url("lead_detail", alices_lead.pk), {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    lead = Lead.objects.get(pk=alices_lead.pk)
    assert (lead.owner_id, lead.score, lead.grade, lead.stage) == (alice.pk, 0, "", Stage.MQL)


def test_unknown_fields_are_named_not_ignored(as_user, alice, alices_lead):
    response = as_user(alice).patch(url("lead_detail", alices_lead.pk), {"favourite_colour": "red"}, format="json")
    assert response.status_code == 400 and "favourite_colour" in response.json()


def test_changing_email_to_another_leads_is_409(as_user, alice, alices_lead):
    other = LeadFactory(email="taken@example.com")
    response = as_user(alice).patch(url("lead_detail", alices_lead.pk), {"email": "Taken@example.com"})
    assert response.status_code == 409 and response.json()["existing_id"] == other.pk


def test_manager_reassigns_within_the_team_through_the_assignment_service(as_user, manager, alices_lead, bob):
    response = as_user(manager).patch(url("lead_detail", alices_lead.pk), {"owner": bob.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == bob.pk
    assert AssignmentLog.objects.filter(lead=alices_lead, to_owner=bob, by=manager).exists()


def test_manager_cannot_give_a_lead_to_another_teams_rep_and_nothing_changes(as_user, manager, alices_lead, charlie):
    response = as_user(manager).patch(
        url("lead_detail", alices_lead.pk), {"owner": charlie.pk, "title": "CEO"}, format="json"
    )
    assert response.status_code == 400 and "not on your team" in response.json()["detail"]
    lead = Lead.objects.get(pk=alices_lead.pk)
    assert (lead.owner_id, lead.title) == (alices_lead.owner_id, alices_lead.title)


def test_accept_then_qualify_convert_and_win(as_user, alice, alices_lead):
    client = as_user(alice)
    assert client.post(url("lead_accept", alices_lead.pk), {"expected_stage": "mql"}).json()["stage"] == "sal"
    body = client.post(
        url("lead_qualify", alices_lead.pk), {"checklist": ALL_BANT, "budget": "5000"}, format="json"
    ).json()
    assert (body["stage"], body["budget"]) == ("sql", "5000.00")
    close_on = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    body = client.post(url("lead_convert", alices_lead.pk), {"amount": "25000", "expected_close_on": close_on}).json()
    assert body["stage"] == "opportunity"
    body = client.post(url("lead_won", alices_lead.pk), {"amount": "24000"}).json()
    assert (body["stage"], body["deal_amount"]) == ("won", "24000.00")


def test_a_stage_action_on_a_lead_that_moved_is_409_with_a_clear_message(as_user, alice, manager, alices_lead):
    as_user(manager).post(url("lead_accept", alices_lead.pk))
    response = as_user(alice).post(url("lead_accept", alices_lead.pk), {"expected_stage": "mql"})
    assert response.status_code == 409
    assert "someone else changed it" in response.json()["detail"]


def test_reject_with_a_reason_returns_the_lead_to_nurture(as_user, alice, alices_lead):
    response = as_user(alice).post(
        url("lead_reject", alices_lead.pk), {"reason": "not_now", "comment": "Budget next year"}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["stage"], response.json()["owner"]) == ("nurture", None)


def test_reject_with_an_unknown_reason_is_400(as_user, alice, alices_lead):
    response = as_user(alice).post(url("lead_reject", alices_lead.pk), {"reason": "bored", "comment": "x"})
    assert response.status_code == 400 and "rejection reason" in response.json()["detail"]


def test_lost_needs_a_reason(as_user, alice, alices_lead):
    response = as_user(alice).post(url("lead_lost", alices_lead.pk), {})
    assert response.status_code == 400 and "reason" in response.json()


def test_marketer_cannot_work_the_sales_stage_actions(as_user, marketer, alices_lead):
    assert as_user(marketer).post(url("lead_accept", alices_lead.pk)).status_code == 403
    assert Lead.objects.get(pk=alices_lead.pk).stage == Stage.MQL


def test_rep_logs_a_touch_and_lists_activities(as_user, alice, alices_lead):
    client = as_user(alice)
    response = client.post(url("lead_activities", alices_lead.pk), {"channel": "call", "outcome": "connected"})
    assert response.status_code == 201, response.content
    listed = client.get(url("lead_activities", alices_lead.pk)).json()["results"]
    assert [a["kind"] for a in listed] == ["call"]
    assert Activity.objects.get(pk=listed[0]["id"]).recorded_by == alice


def test_score_explanation_lists_the_contributions(as_user, alice, alices_lead):
    body = as_user(alice).get(url("lead_score", alices_lead.pk)).json()
    assert body["lead"] == alices_lead.pk and body["uld_version"] >= 1
    assert sum(c["points"] for c in body["contributions"]) == body["score"]


def test_a_huge_id_is_404_not_a_database_error(as_user, marketer):
    assert as_user(marketer).get(f"/api/leads/{2**70}/").status_code == 404


def test_deeply_nested_json_body_is_refused_with_400(as_user, marketer):
    body = "[" * 1000 + "]" * 1000
    response = as_user(marketer).post(url("lead_list"), data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]
    assert not Lead.objects.exists()


def test_an_unknown_field_named_with_a_lone_surrogate_is_refused_with_400(as_user, marketer):
    body = '{"email": "new@example.com", "\\ud800": 1}'
    response = as_user(marketer).post(url("lead_list"), data=body, content_type="application/json")
    assert response.status_code == 400
    assert "There is no such writable field." in response.json()["detail"]
    assert not Lead.objects.exists()


# Leading and trailing whitespace of every kind: ASCII, no-break space, paragraph separator, ideographic.
PADDED = "\u2029 \u00a0Ada\t\u3000\u2029"


def imported(field, value):
    """Return what an import keeps of `value` in the column mapped to `field`."""
    row = clean_row(
        line=2,
        cells=["ada@example.com", value],
        mapping={0: "email", 1: field},
        headers=["Email", field],
        keep_extra=False,
    )
    return row.fields[field]


@pytest.mark.parametrize("field", ["first_name", "last_name", "title", "company_name", "industry", "country", "region"])
def test_the_api_stores_text_exactly_as_sent_as_the_import_does(as_user, marketer, field):
    client = as_user(marketer)
    created = client.post(url("lead_list"), {"email": "ada@example.com", field: PADDED}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()[field] == PADDED == imported(field, PADDED)
    patched = client.patch(url("lead_detail", created.json()["id"]), {field: f"{PADDED}!"}, format="json")
    assert patched.status_code == 200, patched.content
    assert getattr(Lead.objects.get(), field) == f"{PADDED}!"


@pytest.mark.parametrize("field", ["phone", "website"])
def test_the_api_trims_phone_and_website_as_the_import_does(as_user, marketer, field):
    response = as_user(marketer).post(url("lead_list"), {"email": "ada@example.com", field: PADDED}, format="json")
    assert response.status_code == 201, response.content
    assert getattr(Lead.objects.get(), field) == "Ada" == imported(field, PADDED)
