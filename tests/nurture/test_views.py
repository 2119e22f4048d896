"""Nurture pages: marketing only; bad input comes back as a message naming the problem, never a 500."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from leads.lifecycle import Stage
from leads.models import Activity, Lead
from nurture.models import Delivery, Enrolment, ExitReason, Step, Suppression, Track
from nurture.services.delivery import enrolments_advance_due
from nurture.services.enrolment import enrolment_create
from nurture.tokens import click_token, unsubscribe_token
from tests.nurture.conftest import b_lead, nurture_lead, three_step_track

pytestmark = pytest.mark.django_db


def test_reps_and_executives_cannot_open_nurture_pages(client, alice, executive, track):
    for user in (alice, executive):
        client.force_login(user)
        assert client.get(reverse("nurture:list")).status_code == 403
        assert client.get(reverse("nurture:track", args=[track.slug])).status_code == 403


def test_the_track_list_shows_counts_and_routes_waiting_for_a_missing_track(client, marketer, track):
    enrolment_create(lead=nurture_lead(), track=track)
    from leads.models import RoutingDecision
    from leads.selectors_uld import uld_active

    RoutingDecision.objects.create(lead=b_lead(), uld_version=uld_active(), grade="C", route="nurture:educate")
    client.force_login(marketer)
    page = client.get(reverse("nurture:list")).content.decode()
    assert "Accelerate" in page and 'data-testid="active-count">1<' in page
    assert "nurture:educate" in page


def test_a_marketer_builds_a_track_step_by_step(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("nurture:create"),
        {"name": "Educate", "on_complete": "park", "recycle_after_days": 30, "audience_grades": ["C"]},
    )
    track = Track.objects.get(slug="educate")
    assert response.status_code == 302 and track.audience_grades == ["C"] and track.status == "draft"

    response = client.post(reverse("nurture:track_status", args=["educate"]), {"action": "activate"}, follow=True)
    assert "has no steps" in response.content.decode()

    client.post(
        reverse("nurture:step_add", args=["educate"]),
        {"wait_days": 0, "channel": "email", "subject": "Hello {{ first_name }}", "body": "Hi {{ first_name }}"},
    )
    client.post(reverse("nurture:step_add", args=["educate"]), {"wait_days": 2, "channel": "call", "body": "Call"})
    client.post(reverse("nurture:track_status", args=["educate"]), {"action": "activate"})
    track.refresh_from_db()
    assert track.status == "active"
    assert list(track.steps.values_list("position", "channel")) == [(1, "email"), (2, "call")]

    second = track.steps.get(position=2)
    client.post(reverse("nurture:step_move", args=[second.pk]), {"direction": "up"})
    assert list(track.steps.order_by("position").values_list("channel", flat=True)) == ["call", "email"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "email", "subject": "", "body": "Hi"}, "An email step needs a subject."),
        (
            {"channel": "email", "subject": "Hi {{ nickname }}", "body": "x"},
            "Unknown merge field {{ nickname }} in the subject",
        ),
        (
            {"channel": "email", "subject": "Hi", "body": "Hi {{ frist_name }}"},
            "Unknown merge field {{ frist_name }} in the body",
        ),
    ],
)
def test_a_bad_step_is_refused_with_a_message_naming_the_problem(client, marketer, track, data, message):
    client.force_login(marketer)
    response = client.post(reverse("nurture:step_add", args=[track.slug]), {"wait_days": 1, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert track.steps.count() == 3


def test_a_loop_of_recycling_tracks_is_refused_naming_the_loop(client, marketer):
    first = three_step_track(by=marketer, slug="first", name="First")
    second = three_step_track(by=marketer, slug="second", name="Second")
    client.force_login(marketer)
    settings = {"name": "First", "on_complete": "recycle", "recycle_track": second.pk, "recycle_after_days": 10}
    assert client.post(reverse("nurture:track_settings", args=["first"]), settings).status_code == 302
    back = {"name": "Second", "on_complete": "recycle", "recycle_track": first.pk, "recycle_after_days": 10}
    response = client.post(reverse("nurture:track_settings", args=["second"]), back)
    assert response.status_code == 400
    assert "Recycling makes a loop: Second → First → Second" in response.content.decode()
    second.refresh_from_db()
    assert second.on_complete == "park"


def test_the_builder_previews_an_email_with_a_real_leads_data(client, marketer, track):
    lead = nurture_lead(first_name="Petra", company_name="Globex")
    client.force_login(marketer)
    step = track.steps.get(position=1)
    page = client.get(reverse("nurture:track", args=[track.slug]), {"lead": lead.pk, "step": step.pk}).content.decode()
    assert "Petra, a guide for Globex" in page
    assert "https://example.com/guide (tracked)" in page


def test_a_tracked_click_records_an_email_click_and_redirects_only_to_the_steps_url(client, track):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    delivery = Delivery.objects.get(lead=lead)

    response = client.get(reverse("nurture:click", args=[click_token(delivery.pk)]) + "?next=https://evil.example")

    assert response.status_code == 302 and response["Location"] == "https://example.com/guide"
    click = Activity.objects.get(lead=lead, kind="email_click")
    assert click.source == "nurture"
    assert client.get(reverse("nurture:click", args=["forged"])).status_code == 400


def test_a_click_that_makes_the_lead_sales_ready_sends_it_to_a_rep_and_ends_the_enrolment(
    client, track, sales_team, alice
):
    from scoring.services import leads_score

    lead = b_lead()
    leads_score(lead_ids=[lead.pk])
    from nurture.services.enrolment import leads_graded_route

    leads_graded_route()
    enrolments_advance_due()
    delivery = Delivery.objects.get(lead=lead)

    client.get(reverse("nurture:click", args=[click_token(delivery.pk)]))

    lead.refresh_from_db()
    assert (lead.grade, lead.stage, lead.owner) == ("A", Stage.MQL, alice)
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.SALES_READY)


def test_unsubscribe_asks_first_then_one_click_post_unsubscribes(client, track):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    url = reverse("nurture:unsubscribe", args=[unsubscribe_token(lead.pk)])
    assert "Yes, stop these emails" in client.get(url).content.decode()
    assert not Suppression.objects.exists()

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert Suppression.objects.get(lead=lead).reason == "unsubscribed"
    assert Enrolment.objects.get(lead=lead).exit_reason == ExitReason.UNSUBSCRIBED
    assert client.post(reverse("nurture:unsubscribe", args=["forged"])).status_code == 400
    assert mail.outbox == []


def test_a_marketer_bulk_enrols_ticked_leads_from_the_lead_list(client, marketer, track):
    leads = [b_lead(first_name=f"Bulk{i}") for i in range(3)]
    client.force_login(marketer)
    page = client.get(reverse("leads:list")).content.decode()
    assert 'form="bulk-enrol"' in page and "Enrol in track" in page

    response = client.post(
        reverse("nurture:enrol"),
        {"track": track.pk, "lead": [leads[0].pk, leads[1].pk], "next": "/leads/"},
        follow=True,
    )

    assert "Enrolled 2 leads in Accelerate" in response.content.decode()
    assert set(Enrolment.objects.values_list("lead_id", flat=True)) == {leads[0].pk, leads[1].pk}
    assert Lead.objects.get(pk=leads[2].pk).stage == Stage.INQUIRY


def test_reps_see_no_bulk_enrol_on_the_lead_list(client, alice):
    client.force_login(alice)
    assert "bulk-enrol" not in client.get(reverse("leads:list")).content.decode()
    assert client.post(reverse("nurture:enrol"), {"lead": [1]}).status_code == 403


def test_the_lead_page_shows_the_enrolment_and_its_next_step(client, marketer, track):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    client.force_login(marketer)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert "In the track" in page and "Accelerate" in page
    assert "Next: step 2, task: call" in page
    assert "Nurture email" in page  # the touch is in the timeline


def test_a_marketer_completes_a_task_and_it_counts_as_a_touch(client, marketer, track):
    lead = nurture_lead(email=None, phone="+1 555 0101")
    enrolment_create(lead=lead, track=track)
    Enrolment.objects.filter(lead=lead).update(next_step=Step.objects.get(track=track, position=2))
    enrolments_advance_due()
    task = Delivery.objects.get(lead=lead, status="task_open")
    client.force_login(marketer)
    assert "Open tasks" in client.get(reverse("nurture:results", args=[track.slug])).content.decode()
    client.post(reverse("nurture:task_done", args=[task.pk]), {"note": "Spoke, not ready"})
    lead.refresh_from_db()
    assert lead.nurture_touches == 1
    assert client.post(reverse("nurture:task_done", args=[task.pk])).status_code == 302
    lead.refresh_from_db()
    assert lead.nurture_touches == 1
