"""The lead_update service: facts only, duplicates named, reachability kept, re-scoring marked."""

from __future__ import annotations

import pytest

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.services.lead_edit import lead_update
from scoring.models import ScoreDirty
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(alice):
    return LeadFactory(owner=alice, stage=Stage.MQL, email="one@example.com", phone="")


def test_update_writes_facts_derives_size_and_marks_for_rescoring(lead, alice):
    ScoreDirty.objects.all().delete()
    lead_update(lead=lead, by=alice, changes={"industry": "Software", "employees": 7})
    lead.refresh_from_db()
    assert (lead.industry, lead.size_band) == ("Software", "1-10")
    assert ScoreDirty.objects.filter(lead_id=lead.pk).exists()


@pytest.mark.parametrize("field", ["stage", "score", "owner", "grade"])
def test_update_refuses_fields_that_have_their_own_service(lead, alice, field):
    with pytest.raises(ApplicationError, match=field):
        lead_update(lead=lead, by=alice, changes={field: "x"})


def test_update_refuses_another_leads_email_naming_it(lead, alice, marketer):
    other = LeadFactory(email="two@example.com")
    with pytest.raises(ApplicationError) as err:
        lead_update(lead=lead, by=marketer, changes={"email": " TWO@example.com"})
    assert (err.value.code, err.value.extra["existing_id"]) == ("duplicate", other.pk)


def test_update_keeps_the_lead_reachable(lead, alice):
    with pytest.raises(ApplicationError, match="email address or a phone"):
        lead_update(lead=lead, by=alice, changes={"email": ""})


def test_a_rep_cannot_update_another_reps_lead(lead, bob):
    with pytest.raises(ApplicationError) as err:
        lead_update(lead=lead, by=bob, changes={"title": "CEO"})
    assert err.value.code == "not_found"
