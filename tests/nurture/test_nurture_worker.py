"""The nurture beat task, sent through the app's broker, runs in a real worker process and sends a due step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from nurture.models import Delivery
from nurture.services.enrolment import enrolment_create
from nurture.tasks import nurture_advance
from scoring.defaults import default_definition_seed
from tests.nurture.conftest import nurture_lead, three_step_track
from tests.worker_support import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_sends_the_due_first_step_once(worker_queue, marketer):
    default_definition_seed(django_apps.get_model)  # a transactional test starts from an empty database
    name, conn, process, log_path = worker_queue
    track = three_step_track(by=marketer)
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track, at=timezone.now() - dt.timedelta(minutes=5))

    with conn:
        for _ in range(2):  # sent twice, as a redelivery or a second beat would: the step still goes out once
            nurture_advance.apply_async(queue=name, routing_key=name, connection=conn)

    def sent() -> bool:
        return Delivery.objects.filter(lead=lead, step__position=1, status=Delivery.Status.SENT).exists()

    wait_until(sent, process=process, log_path=log_path, what="the first step sent")
    wait_until(
        lambda: log_path.read_text().count("succeeded") >= 2, process=process, log_path=log_path, what="both runs"
    )
    assert Delivery.objects.filter(lead=lead).count() == 1
    lead.refresh_from_db()
    assert lead.nurture_touches == 1
