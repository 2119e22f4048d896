"""Enrolling leads: by ULD routing, by a rep's return, by hand and in bulk; one active enrolment per lead."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import RoutingDecision
from leads.services.queue import lead_accept, lead_reject
from nurture.models import Enrolment, ExitReason
from nurture.services.enrolment import (
    enrolment_create,
    enrolments_create_bulk,
    leads_graded_route,
    routing_pending_apply,
)
from scoring.services import leads_score
from tests.nurture.conftest import b_lead, nurture_lead, three_step_track

pytestmark = pytest.mark.django_db


def test_a_b_lead_is_routed_into_the_accelerate_track_and_moves_to_nurture(track):
    lead = b_lead()
    leads_score(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (lead.grade, lead.stage) == ("B", Stage.INQUIRY)

    assert leads_graded_route() == 1

    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.track, enrolment.status, enrolment.source) == (track, "active", "routing")
    assert enrolment.next_step.position == 1
    decision = RoutingDecision.objects.get(lead=lead)
    assert (decision.route, decision.status) == ("nurture:accelerate", RoutingDecision.Status.DONE)
    assert leads_graded_route() == 0


def test_a_route_to_a_missing_track_stays_pending_and_applies_once_the_track_is_live(marketer):
    lead = b_lead()
    leads_score(lead_ids=[lead.pk])
    assert leads_graded_route() == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY
    assert RoutingDecision.objects.get(lead=lead).status == RoutingDecision.Status.PENDING
    assert leads_graded_route() == 0  # not routed twice while it waits

    three_step_track(by=marketer)
    assert routing_pending_apply() == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    assert Enrolment.objects.filter(lead=lead, status="active").count() == 1


def test_one_active_enrolment_per_lead_is_a_database_constraint(track):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    with pytest.raises(ApplicationError, match="already enrolled"):
        enrolment_create(lead=lead, track=track)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(lead=lead, track=track)


def test_a_rep_not_now_rejection_enrols_the_lead_in_the_track_for_that_reason(marketer, alice, track):
    later = three_step_track(by=marketer, slug="not-now", name="Not now", audience_reasons=["not_now"])
    lead = b_lead(owner=alice)
    lead_accept(lead=lead, by=alice)

    lead_reject(lead=lead, by=alice, reason_code="not_now", comment="Budget next year")

    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.NURTURE, None)
    enrolment = Enrolment.objects.get(lead=lead, status="active")
    assert (enrolment.track, enrolment.source) == (later, "rejection")


def test_a_return_with_no_track_for_its_reason_uses_the_default_track(marketer, alice):
    default = three_step_track(by=marketer, slug="comeback", name="Come back", is_default_return=True)
    lead = b_lead(owner=alice)
    lead_accept(lead=lead, by=alice)
    lead_reject(lead=lead, by=alice, reason_code="no_budget", comment="No budget this year")
    assert Enrolment.objects.get(lead=lead, status="active").track == default


def test_a_disqualifying_rejection_enrols_nowhere(marketer, alice):
    three_step_track(by=marketer, slug="comeback", name="Come back", is_default_return=True)
    lead = b_lead(owner=alice)
    lead_accept(lead=lead, by=alice)
    lead_reject(lead=lead, by=alice, reason_code="bad_fit", comment="Too small")
    assert not Enrolment.objects.filter(lead=lead).exists()


def test_bulk_enrol_reports_each_refused_lead_with_its_reason(marketer, alice, track):
    free = b_lead(first_name="Free")
    owned = b_lead(first_name="Owned", owner=alice)
    lead_accept(lead=owned, by=alice)

    result = enrolments_create_bulk(lead_ids=[free.pk, owned.pk], track=track, by=marketer)

    assert result.enrolled == 1
    assert len(result.refused) == 1 and "SAL" in result.refused[0]
    free.refresh_from_db()
    assert free.stage == Stage.NURTURE


def test_a_rep_cannot_enrol_leads_by_hand(alice, track):
    with pytest.raises(ApplicationError, match="Only marketing"):
        enrolments_create_bulk(lead_ids=[b_lead().pk], track=track, by=alice)


def test_enrolling_into_a_draft_track_is_refused(marketer):
    from nurture.services.tracks import track_create

    draft = track_create(by=marketer, name="Draft")
    with pytest.raises(ApplicationError, match="not active"):
        enrolment_create(lead=b_lead(), track=draft)


def test_a_lead_sales_picks_up_by_hand_exits_as_worked_by_sales_at_once(track, alice):
    from leads.services.lifecycle import lead_stage_change

    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    lead_stage_change(lead=lead, to_stage=Stage.MQL, changes={"owner": alice})
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.WORKED_BY_SALES)
    assert enrolment.next_due_at is None


def test_a_disqualified_nurture_lead_leaves_its_track_at_once(track):
    from leads.services.lifecycle import lead_stage_change

    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    lead_stage_change(lead=lead, to_stage=Stage.DISQUALIFIED, reason="Student")
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.LEFT_NURTURE)


def test_a_nurtured_lead_the_definition_qualifies_exits_as_sales_ready(track):
    from leads.selectors_uld import uld_active
    from leads.services.lifecycle import lead_stage_change

    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    lead_stage_change(lead=lead, to_stage=Stage.MQL, uld_version=uld_active())
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.SALES_READY)


def test_when_b_is_sales_ready_a_b_mql_routed_to_nurture_moves_back_to_nurture_while_enrolled(track):
    from leads.selectors_uld import uld_active

    version = uld_active()
    version.sales_ready_min_grade = "B"
    version.save(update_fields=["sales_ready_min_grade"])
    lead = b_lead()

    leads_score(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    assert Enrolment.objects.get(lead=lead, status="active").track == track
    assert RoutingDecision.objects.get(lead=lead).status == RoutingDecision.Status.DONE


def test_a_slug_that_would_shadow_a_nurture_page_is_refused(marketer):
    from nurture.services.tracks import track_create

    with pytest.raises(ApplicationError, match="reserved"):
        track_create(by=marketer, name="New")
