"""A real Celery worker process runs a task sent through the broker the app uses (Redis or the filesystem)."""

from __future__ import annotations

import signal

import pytest

from leads.models import Heartbeat
from leads.tasks import system_heartbeat
from tests.worker_support import log_tail, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_worker_process_runs_heartbeat_task_sent_through_the_broker(worker_queue):
    name, conn, process, log_path = worker_queue
    assert not Heartbeat.objects.exists()

    with conn:
        system_heartbeat.apply_async(kwargs={"source": "web"}, queue=name, routing_key=name, connection=conn)

    wait_until(
        lambda: Heartbeat.objects.filter(name="worker").exists(), process=process, log_path=log_path, what="a heartbeat"
    )

    # source="web" records the worker only: a beat row would mean some other message ran.
    assert list(Heartbeat.objects.values_list("name", flat=True)) == ["worker"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log_tail(log_path)
    assert "succeeded" in log_tail(log_path)
