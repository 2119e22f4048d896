from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Activity, AssignmentLog, Lead
from leads.models.activity import ActivityKind
from leads.queue_policy import active_policy
from leads.services.queue import (
    lead_accept,
    lead_close,
    lead_convert,
    lead_follow_up_schedule,
    lead_no_response,
    lead_qualify,
    lead_reject,
    lead_touch_log,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
ALL_BANT = {"budget": True, "authority": True, "need": True, "timeframe": True}


@pytest.fixture
def new_lead(alice):
    return LeadFactory(stage=Stage.MQL, owner=alice, grade="A", score=80)


def test_accept_makes_the_lead_sales_accepted(new_lead, alice):
    lead_accept(lead=new_lead, by=alice, expected_stage=Stage.MQL)
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.SAL
    assert new_lead.stage_changes.last().changed_by == alice


def test_accepting_a_lead_someone_else_changed_says_so(new_lead, alice, manager):
    lead_accept(lead=Lead.objects.get(pk=new_lead.pk), by=manager)
    with pytest.raises(ApplicationError, match="someone else changed it") as err:
        lead_accept(lead=new_lead, by=alice, expected_stage=Stage.MQL)
    assert err.value.code == "conflict"


def test_rep_cannot_act_on_another_reps_lead(new_lead, bob):
    with pytest.raises(ApplicationError, match="not in your queue") as err:
        lead_accept(lead=new_lead, by=bob)
    assert err.value.code == "not_found"
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.MQL


def test_reject_needs_a_known_reason_and_a_comment(new_lead, alice):
    with pytest.raises(ApplicationError, match="Choose a rejection reason"):
        lead_reject(lead=new_lead, by=alice, reason_code="bogus", comment="x")
    with pytest.raises(ApplicationError, match="Add a comment"):
        lead_reject(lead=new_lead, by=alice, reason_code="not_now", comment="  ")
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.MQL


def test_reject_to_nurture_hands_the_lead_back_to_marketing(new_lead, alice):
    lead_reject(lead=new_lead, by=alice, reason_code="not_now", comment="Budget next year")
    lead = Lead.objects.get(pk=new_lead.pk)
    assert (lead.stage, lead.owner_id, lead.next_follow_up_at) == (Stage.NURTURE, None, None)
    assert "Interested, but not buying now" in lead.stage_changes.last().reason
    assert AssignmentLog.objects.filter(lead=lead, to_owner=None).exists()


def test_reject_as_a_bad_fit_disqualifies(new_lead, alice):
    lead_reject(lead=new_lead, by=alice, reason_code="bad_fit", comment="Consumer, not business")
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.DISQUALIFIED


def test_wrong_contact_with_a_referral_creates_the_right_person_in_my_queue(new_lead, alice):
    lead_reject(
        lead=new_lead,
        by=alice,
        reason_code="wrong_contact",
        comment="She runs procurement",
        referral_name="Grace Hopper",
        referral_email="grace@acme.example",
    )
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.DISQUALIFIED
    referral = Lead.objects.get(email="grace@acme.example")
    assert (referral.first_name, referral.owner, referral.company_name) == ("Grace", alice, new_lead.company_name)
    assert referral.first_touch_due_at is not None


def test_duplicate_points_at_an_existing_lead(new_lead, alice):
    other = LeadFactory(owner=alice)
    with pytest.raises(ApplicationError, match="no other lead number"):
        lead_reject(lead=new_lead, by=alice, reason_code="duplicate", comment="dup", duplicate_of=new_lead.pk)
    lead_reject(lead=new_lead, by=alice, reason_code="duplicate", comment="dup", duplicate_of=other.pk)
    note = Activity.objects.get(lead=new_lead, kind=ActivityKind.NOTE)
    assert note.payload["duplicate_of"] == other.pk


def test_duplicate_of_a_lead_the_rep_cannot_see_answers_as_if_it_did_not_exist(new_lead, alice, charlie):
    """Otherwise the message would tell a rep which lead ids exist in other teams."""
    theirs = LeadFactory(owner=charlie)
    with pytest.raises(ApplicationError, match=f"no other lead number {theirs.pk} "):
        lead_reject(lead=new_lead, by=alice, reason_code="duplicate", comment="dup", duplicate_of=theirs.pk)


def test_no_response_is_refused_before_the_minimum_touches_with_how_many_remain(new_lead, alice):
    needed = active_policy().min_touches_before_no_response
    for _ in range(3):
        lead_touch_log(lead=new_lead, by=alice, channel="call", outcome="no_answer")
    with pytest.raises(ApplicationError, match=f"3 of {needed} touches made. Make {needed - 3} more"):
        lead_no_response(lead=new_lead, by=alice)
    for _ in range(needed - 3):
        lead_touch_log(lead=new_lead, by=alice, channel="email", outcome="no_answer")
    lead_no_response(lead=new_lead, by=alice)
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.NURTURE


def test_touch_is_recorded_counted_and_schedules_the_next_follow_up(new_lead, alice):
    Lead.objects.filter(pk=new_lead.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=1))
    activity = lead_touch_log(lead=new_lead, by=alice, channel="call", outcome="voicemail", notes="left vm")
    lead = Lead.objects.get(pk=new_lead.pk)
    assert activity.kind == ActivityKind.CALL and activity.payload["outcome"] == "voicemail"
    assert lead.sales_touches == 1 and lead.first_touch_at is not None
    expected = activity.occurred_at + dt.timedelta(days=active_policy().cadence_days_after(1))
    assert lead.next_follow_up_at == expected


def test_touch_rejects_unknown_channel_and_outcome(new_lead, alice):
    with pytest.raises(ApplicationError, match="how you reached out"):
        lead_touch_log(lead=new_lead, by=alice, channel="fax", outcome="connected")
    with pytest.raises(ApplicationError, match="Choose an outcome"):
        lead_touch_log(lead=new_lead, by=alice, channel="call", outcome="maybe")
    assert Activity.objects.filter(lead=new_lead).count() == 0


def test_follow_up_must_be_in_the_future(new_lead, alice):
    with pytest.raises(ApplicationError, match="in the future"):
        lead_follow_up_schedule(lead=new_lead, by=alice, at=timezone.now() - dt.timedelta(minutes=1))
    when = timezone.now() + dt.timedelta(days=2)
    lead_follow_up_schedule(lead=new_lead, by=alice, at=when)
    assert Lead.objects.get(pk=new_lead.pk).next_follow_up_at == when


def test_qualify_needs_every_bant_item_and_saves_the_facts(new_lead, alice):
    lead_accept(lead=new_lead, by=alice)
    with pytest.raises(ApplicationError, match="Missing: .*timeframe"):
        lead_qualify(lead=new_lead, by=alice, checklist={**ALL_BANT, "timeframe": False})
    lead_qualify(lead=new_lead, by=alice, checklist=ALL_BANT, budget=Decimal("50000"), timeframe="lt_3m")
    lead = Lead.objects.get(pk=new_lead.pk)
    assert (lead.stage, lead.budget, lead.timeframe) == (Stage.SQL, Decimal("50000.00"), "lt_3m")


def test_convert_then_win_records_the_amount(new_lead, alice):
    lead_accept(lead=new_lead, by=alice)
    lead_qualify(lead=new_lead, by=alice, checklist=ALL_BANT)
    close_on = timezone.localdate() + dt.timedelta(days=30)
    with pytest.raises(ApplicationError, match="zero or more"):
        lead_convert(lead=new_lead, by=alice, amount="-5", expected_close_on=close_on)
    with pytest.raises(ApplicationError, match="as a number"):
        lead_convert(lead=new_lead, by=alice, amount="lots", expected_close_on=close_on)
    lead_convert(lead=new_lead, by=alice, amount="25000", expected_close_on=close_on)
    lead = Lead.objects.get(pk=new_lead.pk)
    assert (lead.stage, lead.deal_amount, lead.expected_close_on) == (Stage.OPPORTUNITY, Decimal("25000"), close_on)
    lead_close(lead=new_lead, by=alice, won=True, amount="27000")
    lead = Lead.objects.get(pk=new_lead.pk)
    assert (lead.stage, lead.deal_amount) == (Stage.WON, Decimal("27000"))


def test_lost_needs_a_reason(new_lead, alice):
    lead_accept(lead=new_lead, by=alice)
    lead_qualify(lead=new_lead, by=alice, checklist=ALL_BANT)
    with pytest.raises(ApplicationError, match="why the deal was lost"):
        lead_close(lead=new_lead, by=alice, won=False)
    lead_close(lead=new_lead, by=alice, won=False, reason="Went with a competitor")
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.LOST


def test_winning_a_lead_that_is_not_an_opportunity_is_refused(new_lead, alice):
    with pytest.raises(ApplicationError, match="Only an opportunity can be won"):
        lead_close(lead=new_lead, by=alice, won=True, amount="1")
