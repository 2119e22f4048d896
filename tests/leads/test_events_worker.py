"""Stored behaviour events, handed to the app's broker, are processed by a real worker process."""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps

from leads.models import Activity, Event, EventStatus
from leads.services.events import EventInput, event_scope, events_record
from leads.tasks import events_process_task
from scoring.defaults import default_definition_seed
from tests.factories import LeadFactory
from tests.worker_support import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_records_each_event_as_one_activity(worker_queue, marketer, django_capture_on_commit_callbacks):
    default_definition_seed(django_apps.get_model)
    name, conn, process, log_path = worker_queue
    known = LeadFactory(email="known@example.com")
    events = [
        EventInput(key="w-1", type="web_visit", email="KNOWN@example.com "),
        EventInput(key="w-2", type="download", email="new.visitor@example.com"),
    ]
    with django_capture_on_commit_callbacks(execute=False):  # hand over below, to this test's queue
        events_record(scope=event_scope(user=marketer), user=marketer, events=events)
    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))

    with conn:
        for _ in range(2):  # a duplicate message must not record anything twice
            events_process_task.apply_async(args=[ids], queue=name, routing_key=name, connection=conn)

    def done() -> bool:
        return Event.objects.filter(pk__in=ids, status=EventStatus.PROCESSED).count() == len(ids)

    wait_until(done, process=process, log_path=log_path, what="both events processed")
    wait_until(
        lambda: log_path.read_text().count("succeeded") >= 2, process=process, log_path=log_path, what="both runs"
    )
    assert Activity.objects.filter(lead=known, kind="web_visit", source="api").count() == 1
    created = Activity.objects.get(kind="download", source="api").lead
    assert (created.email, created.stage) == ("new.visitor@example.com", "inquiry")
