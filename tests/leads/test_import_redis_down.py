"""Redis stopped or paused when an import starts: the request answers at once, the resume sweep hands it over.

A private `redis-server` on a free port stands in for the broker (the machine's shared Redis is never
touched), as in test_events_redis_down.py. The job is committed as queued before the hand-over, so a
broker that refuses (stopped) or never answers (frozen with SIGSTOP) must cost the request no more than
the hand-over's short budget and must not turn its answer into an error; the beat's resume sweep then
sends what the broker did not take, and running the messages imports every row once.
"""

from __future__ import annotations

import json
import shutil
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu import Connection

from leadops.celery import BULK_QUEUE
from leadops.celery import app as celery_app
from leads.models import ImportJob, ImportStatus, Lead
from leads.services.imports import import_job_create, import_jobs_resume_stale
from leads.tasks import import_job_run_task
from tests.factories import CampaignFactory
from tests.redis_support import PrivateRedis

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]

REQUEST_BOUND_SECONDS = 30  # the client gives up waiting here; the hand-over's own budget is 2 s


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    server = PrivateRedis(tmp_path)
    server.start()
    # Only this process's publishing is pointed at it; nothing else uses the private server.
    monkeypatch.setattr(celery_app.conf, "broker_url", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _csv(prefix: str) -> bytes:
    return f"Email,First Name\r\n{prefix}1@example.com,A\r\n{prefix}2@example.com,B\r\n".encode()


def _post_bounded(client, url: str, data: dict):
    """POST from a thread and wait at most REQUEST_BOUND_SECONDS for the response."""
    outcome: dict = {}

    def send() -> None:
        try:
            outcome["response"] = client.post(url, data)
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout=REQUEST_BOUND_SECONDS)
    assert not thread.is_alive(), f"the request was still waiting after {REQUEST_BOUND_SECONDS} s"
    assert "error" not in outcome, outcome.get("error")
    return outcome["response"]


def _consume_imports(url: str) -> list[int]:
    """Run every import message waiting in the private Redis through the task, as the bulk worker would."""
    ran = []
    with Connection(url) as conn:
        queue = conn.SimpleQueue(BULK_QUEUE)
        try:
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    return ran
                assert message.headers["task"] == import_job_run_task.name
                args, kwargs, _embed = message.decode()
                import_job_run_task.apply(args=args, kwargs=kwargs, throw=True)
                message.ack()
                ran.append(args[0])
        finally:
            queue.close()


def test_import_started_while_redis_is_stopped_or_paused_is_accepted_and_the_resume_hands_it_over(
    private_redis, client, marketer
):
    client.force_login(marketer)
    campaign = CampaignFactory()

    # 1. Redis stopped: the API's upload-and-start answers 201 with the job queued, not a 500.
    private_redis.stop()
    response = _post_bounded(
        client,
        reverse("imports:api_upload"),
        {"file": SimpleUploadedFile("stopped.csv", _csv("stopped")), "campaign": campaign.pk},
    )
    assert response.status_code == 201, response.content
    stopped = ImportJob.objects.get(pk=response.json()["id"])
    assert stopped.status == ImportStatus.QUEUED
    # A sweep while Redis is still down sends nothing and leaves the job for the next sweep.
    assert import_jobs_resume_stale() == [stopped.pk]
    assert import_jobs_resume_stale() == [stopped.pk]

    # 2. Redis frozen: starting from the page redirects to the job within the hand-over's budget.
    private_redis.start()
    private_redis.pause()
    draft = import_job_create(by=marketer, upload=SimpleUploadedFile("paused.csv", _csv("paused")), campaign=campaign)
    response = _post_bounded(
        client,
        reverse("imports:configure", args=[draft.pk]),
        {"action": "start", "map_0": "email", "map_1": "first_name", "duplicate_policy": "skip"},
    )
    assert response.status_code == 302 and response.url == reverse("imports:detail", args=[draft.pk])
    assert ImportJob.objects.get(pk=draft.pk).status == ImportStatus.QUEUED
    private_redis.resume()

    # 3. Redis is back: the resume sweep hands over both jobs (once), and running the messages imports them.
    assert sorted(import_jobs_resume_stale()) == sorted([stopped.pk, draft.pk])
    assert import_jobs_resume_stale() == []
    assert set(_consume_imports(private_redis.url)) == {stopped.pk, draft.pk}
    assert set(ImportJob.objects.values_list("status", flat=True)) == {ImportStatus.DONE}
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "paused1@example.com",
        "paused2@example.com",
        "stopped1@example.com",
        "stopped2@example.com",
    ]


def test_an_import_started_while_redis_is_up_is_handed_over_at_once_and_not_again(private_redis, client, marketer):
    client.force_login(marketer)
    response = _post_bounded(
        client,
        reverse("imports:api_upload"),
        {
            "file": SimpleUploadedFile("up.csv", _csv("up")),
            "campaign": CampaignFactory().pk,
            "mapping": json.dumps({"0": "email", "1": "first_name"}),
        },
    )
    assert response.status_code == 201, response.content
    assert import_jobs_resume_stale() == []  # the broker took it: nothing for the sweep
    assert _consume_imports(private_redis.url) == [response.json()["id"]]
    assert ImportJob.objects.get().status == ImportStatus.DONE and Lead.objects.count() == 2
