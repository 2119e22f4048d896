from __future__ import annotations

import datetime as dt

import pytest

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Lead, StageChange
from leads.services.lifecycle import StageStep, leads_bulk_create_with_history
from tests.stage_logs import assert_stage_logs_follow_transitions

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.mark.django_db
def test_bulk_history_logs_every_stage_and_sets_the_last(alice):
    history = [
        StageStep(to_stage=Stage.INQUIRY, at=_at(0)),
        StageStep(to_stage=Stage.MQL, at=_at(5)),
        StageStep(to_stage=Stage.SAL, at=_at(9), by_id=alice.pk, owner_id=alice.pk),
    ]
    [lead] = leads_bulk_create_with_history(
        leads=[Lead(first_name="Ann", email=" Ann@Example.COM ", employees=40)], histories=[history]
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.owner_id, lead.email, lead.size_band) == (Stage.SAL, alice.pk, "ann@example.com", "11-50")
    assert lead.created_at == _at(0) and lead.stage_entered_at == _at(9)
    log = list(StageChange.objects.filter(lead=lead).values_list("from_stage", "to_stage", "owner_id", "changed_by_id"))
    assert log == [("", "inquiry", None, None), ("inquiry", "mql", None, None), ("mql", "sal", alice.pk, alice.pk)]
    assert assert_stage_logs_follow_transitions() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([StageStep(to_stage=Stage.INQUIRY, at=_at(0)), StageStep(to_stage=Stage.WON, at=_at(1))], "cannot move"),
        ([StageStep(to_stage=Stage.INQUIRY, at=_at(5)), StageStep(to_stage=Stage.MQL, at=_at(1))], "dated before"),
        ([StageStep(to_stage="promoted", at=_at(0))], "unknown stage"),
        ([], "no stage history"),
    ],
)
def test_bulk_history_refuses_a_bad_history_and_writes_nothing(history, message):
    good = [StageStep(to_stage=Stage.INQUIRY, at=_at(0))]
    with pytest.raises(ApplicationError, match=message):
        leads_bulk_create_with_history(
            leads=[Lead(email="ok@example.com"), Lead(email="bad@example.com")], histories=[good, history]
        )
    assert not Lead.objects.exists()
    assert not StageChange.objects.exists()


@pytest.mark.django_db
def test_bulk_history_refuses_a_lead_without_contact_or_history():
    step = [StageStep(to_stage=Stage.INQUIRY, at=_at(0))]
    with pytest.raises(ApplicationError, match="email address or a phone"):
        leads_bulk_create_with_history(leads=[Lead(email="  ")], histories=[step])
    with pytest.raises(ApplicationError, match="exactly one stage history"):
        leads_bulk_create_with_history(leads=[Lead(email="a@example.com")], histories=[])
    assert not Lead.objects.exists()
