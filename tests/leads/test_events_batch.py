"""Processing behaviour events as a batch: set-based, with per-event refusals and a one-by-one fallback."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Activity, Event, EventStatus, Lead
from leads.services import events as events_service
from leads.services.events import EventInput, event_scope, events_process, events_record
from tests.factories import LeadFactory


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(events_service, "events_hand_over", lambda *, event_ids: True)


def _store(user, events: list[EventInput]) -> list[int]:
    events_record(scope=event_scope(user=user), user=user, events=events)
    return list(Event.objects.order_by("pk").values_list("pk", flat=True))


def test_a_mixed_batch_records_each_event_on_its_lead_and_refuses_only_the_bad_one(marketer):
    known = LeadFactory(email="known@example.com")
    named = LeadFactory(email="named@example.com")
    hidden_id = LeadFactory().pk
    ids = _store(
        marketer,
        [
            EventInput(key="a", type="web_visit", email="KNOWN@example.com"),
            EventInput(key="b", type="form_fill", email="fresh@example.com", properties={"first_name": "Ada"}),
            EventInput(key="c", type="download", email="fresh@example.com"),
            EventInput(key="d", type="webinar", lead_id=named.pk),
            EventInput(key="e", type="webinar", lead_id=hidden_id),
        ],
    )
    Lead.objects.filter(pk=hidden_id).delete()

    assert events_process(event_ids=ids) == 4

    fresh = Lead.objects.get(email="fresh@example.com")
    assert fresh.first_name == "Ada"
    by_key = {event.key: event for event in Event.objects.all()}
    assert {key: (e.status, e.lead_id) for key, e in by_key.items()} == {
        "a": (EventStatus.PROCESSED, known.pk),
        "b": (EventStatus.PROCESSED, fresh.pk),
        "c": (EventStatus.PROCESSED, fresh.pk),
        "d": (EventStatus.PROCESSED, named.pk),
        "e": (EventStatus.FAILED, None),
    }
    assert f"No lead {hidden_id}" in by_key["e"].error
    for key in "abcd":
        activity = by_key[key].activity
        assert (activity.lead_id, activity.kind, activity.source) == (by_key[key].lead_id, by_key[key].type, "api")
        assert activity.payload["event"] == str(by_key[key].uuid)
    assert Activity.objects.count() == 4


def test_the_number_of_queries_does_not_grow_with_the_batch(marketer):
    leads = [LeadFactory(email=f"person{i}@example.com") for i in range(60)]

    def queries_for(count: int, prefix: str) -> int:
        _store(marketer, [EventInput(key=f"{prefix}{i}", type="web_visit", email=leads[i].email) for i in range(count)])
        ids = list(Event.objects.filter(key__startswith=prefix).values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as captured:
            assert events_process(event_ids=ids) == count
        return len(captured.captured_queries)

    assert queries_for(5, "small-") == queries_for(60, "large-")


def test_a_batch_that_fails_is_retried_one_event_at_a_time(marketer, monkeypatch):
    LeadFactory(email="one@example.com")
    LeadFactory(email="two@example.com")
    ids = _store(
        marketer,
        [
            EventInput(key="1", type="web_visit", email="one@example.com"),
            EventInput(key="2", type="web_visit", email="two@example.com"),
        ],
    )
    real = events_service.activities_record_many

    def refuse_batches(*, activities):
        if len(activities) > 1:
            raise RuntimeError("simulated failure of the set-based insert")
        return real(activities=activities)

    monkeypatch.setattr(events_service, "activities_record_many", refuse_batches)

    assert events_process(event_ids=ids) == 2
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert Activity.objects.count() == 2
