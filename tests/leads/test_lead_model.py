from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from leadops.errors import ApplicationError
from leads.models import Activity, Lead
from leads.models.guard import AppendOnlyViolation, stage_writes_allowed
from leads.services.lifecycle import lead_create
from tests.factories import ActivityFactory

pytestmark = pytest.mark.django_db


def test_email_is_unique_case_insensitively():
    lead_create(email="Sam@Example.com")
    with pytest.raises(ApplicationError, match="already exists"):
        lead_create(email=" SAM@example.COM")


def test_database_refuses_an_unnormalised_email_even_past_the_model():
    with pytest.raises(IntegrityError), transaction.atomic(), stage_writes_allowed():
        Lead.objects.bulk_create([Lead(email="Upper@Example.com")])


def test_database_refuses_a_lead_with_no_way_to_reach_it():
    with pytest.raises(IntegrityError), transaction.atomic(), stage_writes_allowed():
        Lead.objects.bulk_create([Lead(email=None, phone="")])


def test_service_refuses_a_lead_with_no_email_or_phone():
    with pytest.raises(ApplicationError, match="email address or a phone"):
        lead_create(email="   ", phone="")


def test_a_lead_may_have_only_a_phone():
    lead = lead_create(phone="+49 30 1234567")
    assert lead.email is None


def test_activities_are_append_only():
    activity = ActivityFactory()
    activity.payload = {"url": "/changed"}
    with pytest.raises(AppendOnlyViolation):
        activity.save()
    with pytest.raises(AppendOnlyViolation):
        Activity.objects.update(kind="note")
