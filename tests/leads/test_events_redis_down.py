"""Redis stopped or paused while events arrive: requests return 202 at once, nothing is lost or doubled.

A private `redis-server` on a free port stands in for the broker (the machine's shared Redis is never
touched). Events posted while it is stopped, and while it is frozen with SIGSTOP (connections are
accepted by the kernel but never answered), are stored and left `received`; after Redis is back the
re-drive hands them over and consuming the messages records exactly one activity per event, even though
the frozen Redis may run the publish it received once it wakes (a duplicate message).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading

import pytest
from kombu import Connection
from rest_framework.test import APIClient

from leadops.cache import cache_failures_forget
from leadops.celery import app as celery_app
from leads.models import Activity, Event, EventStatus
from leads.services.events import events_redrive
from leads.tasks import events_process_task
from tests.factories import APITokenFactory
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


@pytest.fixture
def api(client, admin_user):
    client.force_login(admin_user)
    return client


def _post_bounded(client, body: dict) -> int:
    """POST from a thread and wait at most REQUEST_BOUND_SECONDS for the status code."""
    outcome: dict = {}

    def send() -> None:
        try:
            response = client.post("/api/events/", data=json.dumps(body), content_type="application/json")
            outcome["status"] = response.status_code
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
    return outcome["status"]


def _consume_all(url: str) -> int:
    """Run every events message waiting in the private Redis through the task, as a worker would."""
    ran = 0
    with Connection(url) as conn:
        queue = conn.SimpleQueue("celery")
        try:
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    return ran
                assert message.headers["task"] == events_process_task.name
                args, kwargs, _embed = message.decode()
                events_process_task.apply(args=args, kwargs=kwargs, throw=True)
                message.ack()
                ran += 1
        finally:
            queue.close()


def _events(prefix: str, count: int) -> dict:
    return {"events": [{"id": f"{prefix}-{i}", "type": "web_visit", "email": f"{prefix}{i}@example.com"}
                       for i in range(count)]}  # fmt: skip


def test_events_posted_while_redis_is_stopped_or_paused_are_accepted_and_later_processed_once(private_redis, api):
    # 1. Redis stopped: the connection is refused, the request still returns 202 and the events wait.
    private_redis.stop()
    assert _post_bounded(api, _events("stopped", 3)) == 202
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.RECEIVED}

    # 2. Redis running but frozen: the publish gets no answer; the hand-over times out instead of hanging.
    private_redis.start()
    private_redis.pause()
    assert _post_bounded(api, _events("paused", 2)) == 202
    assert Event.objects.filter(status=EventStatus.RECEIVED).count() == 5
    private_redis.resume()

    # 3. Redis is back: the re-drive hands over everything stuck; then the messages are consumed.
    later = max(Event.objects.values_list("received_at", flat=True)) + dt.timedelta(minutes=5)
    assert events_redrive(now=later) == 5
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.QUEUED}
    assert _consume_all(private_redis.url) >= 1

    # 4. Exactly one activity per event, even with the woken Redis's late message and a second re-drive.
    events_redrive(now=later + dt.timedelta(hours=1))
    _consume_all(private_redis.url)
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert Activity.objects.count() == 5
    for event in Event.objects.all():
        assert Activity.objects.filter(lead=event.lead, source="api").count() == 1, event.key


def test_a_request_hands_its_events_over_at_once_when_redis_is_up(private_redis, api):
    assert _post_bounded(api, _events("up", 2)) == 202
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.QUEUED}
    assert _consume_all(private_redis.url) == 1  # one message for the batch
    assert Activity.objects.filter(source="api").count() == 2


def test_token_events_are_accepted_while_redis_as_cache_and_broker_is_stopped_or_frozen(
    private_redis_cache, admin_user
):
    token = APITokenFactory(user=admin_user, kind="integration", scopes=["events:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")

    private_redis_cache.stop()  # the throttle's counters and the broker are both gone
    assert _post_bounded(client, _events("token-stopped", 2)) == 202

    private_redis_cache.start()
    private_redis_cache.pause()
    cache_failures_forget()  # ask the frozen Redis, rather than skip it after the failure above
    assert _post_bounded(client, _events("token-paused", 2)) == 202
    private_redis_cache.resume()

    assert Event.objects.filter(status=EventStatus.RECEIVED).count() == 4
