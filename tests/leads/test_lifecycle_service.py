from __future__ import annotations

import pytest

from leadops.errors import ApplicationError
from leads.lifecycle import ALLOWED_TRANSITIONS, Stage
from leads.models import Lead, StageChange
from leads.models.guard import StageWriteRefused
from leads.selectors import stage_log_mismatches
from leads.services.lifecycle import lead_create, lead_stage_change
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_new_lead_enters_as_inquiry_with_a_logged_entry():
    lead = lead_create(email="  Ada@Example.COM ", first_name="Ada")
    assert lead.stage == Stage.INQUIRY
    assert lead.email == "ada@example.com"
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage) == ("", Stage.INQUIRY)


def test_allowed_move_is_logged_with_who_and_why(alice):
    lead = LeadFactory()
    lead_stage_change(lead=lead, to_stage=Stage.MQL, by=alice, reason="scored A")
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    last = lead.stage_changes.order_by("-id").first()
    assert (last.from_stage, last.to_stage, last.changed_by, last.reason) == (
        Stage.INQUIRY,
        Stage.MQL,
        alice,
        "scored A",
    )


def test_illegal_move_is_refused_with_a_message_naming_the_allowed_stages():
    lead = LeadFactory()
    with pytest.raises(ApplicationError) as err:
        lead_stage_change(lead=lead, to_stage=Stage.WON)
    assert "cannot move from Inquiry to Won" in err.value.message
    assert "MQL" in err.value.message
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY
    assert lead.stage_changes.count() == 1


@pytest.mark.parametrize("from_stage", list(Stage))
def test_every_stage_refuses_moves_outside_the_table(from_stage):
    forbidden = set(Stage.values) - set(ALLOWED_TRANSITIONS[from_stage]) - {from_stage}
    for to_stage in forbidden:
        from leads.lifecycle import is_allowed

        assert not is_allowed(from_stage, to_stage)


def test_stale_expected_stage_is_refused_not_overwritten(alice, bob):
    lead = LeadFactory()
    lead_stage_change(lead=lead, to_stage=Stage.MQL)
    lead_stage_change(lead=Lead.objects.get(pk=lead.pk), to_stage=Stage.SAL, by=alice, expected_stage=Stage.MQL)
    with pytest.raises(ApplicationError) as err:
        lead_stage_change(lead=lead, to_stage=Stage.NURTURE, by=bob, expected_stage=Stage.MQL)
    assert err.value.code == "conflict"
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SAL


def test_stage_cannot_be_saved_outside_the_service():
    lead = LeadFactory()
    lead.stage = Stage.WON
    with pytest.raises(StageWriteRefused):
        lead.save()


def test_stage_cannot_be_bulk_updated_outside_the_service():
    LeadFactory()
    with pytest.raises(StageWriteRefused):
        Lead.objects.update(stage=Stage.WON)
    lead = Lead.objects.get()
    lead.stage = Stage.WON
    with pytest.raises(StageWriteRefused):
        Lead.objects.bulk_update([lead], ["stage"])


def test_lead_cannot_be_created_bypassing_the_service():
    with pytest.raises(StageWriteRefused):
        Lead.objects.create(email="x@example.com")


def test_other_fields_save_without_the_service():
    lead = LeadFactory()
    lead.title = "CTO"
    lead.save()
    assert Lead.objects.get(pk=lead.pk).title == "CTO"


def test_log_agrees_with_every_lead_after_a_history():
    lead = LeadFactory()
    for stage in (Stage.MQL, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON):
        lead_stage_change(lead=lead, to_stage=stage)
    assert not stage_log_mismatches().exists()
    assert list(lead.stage_changes.values_list("to_stage", flat=True))[-1] == Stage.WON


def test_bulk_create_logs_each_lead_entry_once():
    from leads.services.lifecycle import leads_bulk_create

    created = leads_bulk_create(leads=[Lead(email=f"B{i}@Example.com ") for i in range(5)], reason="import")
    assert [lead.email for lead in created] == [f"b{i}@example.com" for i in range(5)]
    assert StageChange.objects.filter(lead__in=created, to_stage=Stage.INQUIRY, reason="import").count() == 5
    assert not stage_log_mismatches().exists()


def test_each_stage_change_marks_its_day_and_lead_for_the_dashboard_rollups():
    from reporting.days import local_day
    from reporting.models import RollupDirtyDay, RollupDirtyLead

    lead = LeadFactory()
    moved = lead_stage_change(lead=lead, to_stage=Stage.MQL)
    assert RollupDirtyLead.objects.filter(lead_id=lead.pk).exists()
    assert RollupDirtyDay.objects.filter(day=local_day(moved.stage_entered_at)).exists()
