"""The admin's system status page: web, database, broker, worker and beat, and the worker ping."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from leadops.celery import app
from leads.models import Heartbeat
from leads.tasks import system_heartbeat

URL = reverse("system_status")
STALE = 180


def _states(response) -> dict[str, str]:
    """Return {component: "up"|"down"} as the page renders it."""
    html = response.content.decode()
    return dict(re.findall(r'data-component="(\w+)">.*?class="status status-(up|down)"', html))


@pytest.fixture
def admin_client(client, admin_user, settings):
    settings.LEADOPS_HEARTBEAT_STALE_SECONDS = STALE
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The db mark matters: the people come from getfixturevalue, and pytest-django runs tests that do not ask
# for the database after the transactional ones, whose flush removes the role groups.
@pytest.mark.django_db
@pytest.mark.parametrize("person", ["alice", "manager", "marketer", "executive"])
def test_non_admins_cannot_see_or_ping(client, person, request, django_capture_on_commit_callbacks):
    client.force_login(request.getfixturevalue(person))

    with django_capture_on_commit_callbacks() as callbacks:
        get = client.get(URL)
        post = client.post(URL)

    assert get.status_code in {302, 403}
    assert post.status_code in {302, 403}
    assert "data-component=" not in get.content.decode()  # no component rows leak into the 403 page
    assert callbacks == []


def test_admin_sees_every_component(admin_client):
    response = admin_client.get(URL)

    assert response.status_code == 200
    names = [component.name for component in response.context["components"]]
    assert names == ["web", "database", "broker", "worker", "beat"]
    states = _states(response)
    assert set(states) == set(names)
    assert states["web"] == "up"
    assert states["database"] == "up"
    assert states["broker"] == "up"


def test_worker_and_beat_never_seen_show_down(admin_client):
    states = _states(admin_client.get(URL))

    assert states["worker"] == "down"
    assert states["beat"] == "down"


def test_worker_shows_down_when_its_heartbeat_is_stale(admin_client):
    Heartbeat.objects.create(name="worker", last_seen=timezone.now() - dt.timedelta(seconds=STALE + 30))
    Heartbeat.objects.create(name="beat", last_seen=timezone.now())

    states = _states(admin_client.get(URL))

    assert states["worker"] == "down"
    assert states["beat"] == "up"


def test_worker_shows_up_when_its_heartbeat_is_fresh(admin_client):
    Heartbeat.objects.create(name="worker", last_seen=timezone.now() - dt.timedelta(seconds=STALE - 30))

    states = _states(admin_client.get(URL))

    assert states["worker"] == "up"
    assert states["beat"] == "down"


def test_htmx_poll_gets_only_the_rows(admin_client):
    response = admin_client.get(URL, headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>" not in html
    assert set(_states(response)) == {"web", "database", "broker", "worker", "beat"}


def test_broker_shows_down_when_unreachable(admin_client, monkeypatch):
    # Port 1 on loopback refuses connections: the page must say so, not fail.
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert _states(response)["broker"] == "down"


def test_ping_enqueues_a_heartbeat_only_on_commit(admin_client, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(system_heartbeat, "delay", lambda **kwargs: sent.append(kwargs))

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(URL)

    assert response.status_code == 302
    assert response["Location"] == URL
    assert len(callbacks) == 1
    assert sent == []
    callbacks[0]()
    assert sent == [{"source": "web"}]


def test_heartbeat_check_command_fails_for_a_stale_component(db, settings):
    settings.LEADOPS_HEARTBEAT_STALE_SECONDS = STALE
    Heartbeat.objects.create(name="beat", last_seen=timezone.now() - dt.timedelta(seconds=STALE + 30))
    Heartbeat.objects.create(name="worker", last_seen=timezone.now())

    with pytest.raises(CommandError, match="beat: down"):
        call_command("heartbeat_check", "beat")
    call_command("heartbeat_check", "worker")
