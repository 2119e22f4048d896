"""Login throttling (django-axes): a username locks after repeated failures, whatever X-Forwarded-For says."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse

from leads.roles import Role
from tests.factories import DEMO_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LIMIT = 3
COOL_OFF = dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def throttle(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF
    settings.LEADOPS_TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def rep(db):
    return UserFactory(username="rita", role=Role.SALES_REP)


def attempt(client: Client, password: str, *, ip: str = "203.0.113.5", forwarded: str = "", username: str = "rita"):
    extra = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail_until_locked(client: Client, **kwargs):
    for _ in range(LIMIT):
        response = attempt(client, "wrong-password", **kwargs)
    return response


def pass_the_cool_off():
    """Drive time past the cool-off by ageing every recorded attempt (axes compares them with now)."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - COOL_OFF - dt.timedelta(seconds=1))


def test_wrong_password_below_the_limit_says_so_and_does_not_lock(client, rep):
    response = attempt(client, "wrong-password")
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode() or "didn't match" in response.content.decode()
    assert attempt(client, DEMO_PASSWORD).status_code == 302


def test_failures_up_to_the_limit_lock_the_username_with_a_clear_message(client, rep):
    response = fail_until_locked(client)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed attempts; try again in 10 minutes." in body
    assert 'name="username"' in body, "the lockout answer is the login page, not a bare error"


def test_correct_password_while_locked_is_refused(client, rep):
    fail_until_locked(client)
    response = attempt(client, DEMO_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_rotating_x_forwarded_for_gets_no_fresh_attempts(client, rep):
    for i in range(LIMIT):
        attempt(client, "wrong-password", forwarded=f"198.51.100.{i}")
    response = attempt(client, DEMO_PASSWORD, forwarded="198.51.100.200")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_the_lock_is_per_username_from_any_address(client, rep):
    fail_until_locked(client, ip="203.0.113.5")
    assert attempt(Client(), DEMO_PASSWORD, ip="192.0.2.44").status_code == 429


def test_other_users_are_not_locked_by_someone_elses_failures(client, rep):
    UserFactory(username="sam", role=Role.SALES_REP)
    fail_until_locked(client)
    assert attempt(client, DEMO_PASSWORD, username="sam").status_code == 302


def test_login_works_again_after_the_cool_off(client, rep):
    fail_until_locked(client)
    pass_the_cool_off()
    response = attempt(client, DEMO_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_appended(client, rep, settings):
    settings.LEADOPS_TRUSTED_PROXY_COUNT = 1
    # The client writes anything it likes on the left; our one proxy appends the real address last.
    for i in range(LIMIT):
        attempt(client, "wrong-password", ip="10.0.0.2", forwarded=f"1.2.3.{i}, 203.0.113.9")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    assert attempt(client, DEMO_PASSWORD, ip="10.0.0.2", forwarded="9.9.9.9, 203.0.113.9").status_code == 429
