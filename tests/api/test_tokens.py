"""API tokens: issued once, stored hashed, checked, throttled, revocable; the page and the command."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from leadops.errors import ApplicationError
from leads.models import APIToken
from leads.services.api_tokens import api_token_authenticate, api_token_create, api_token_revoke
from tests.factories import APITokenFactory, LeadFactory

pytestmark = pytest.mark.django_db
LEADS = "/api/leads/"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_token_is_stored_as_a_hash_and_shown_once(alice):
    issued = api_token_create(user=alice, by=alice, name="laptop", scopes=["leads:read"])
    token = APIToken.objects.get(pk=issued.token.pk)
    secret_part = issued.secret.split("_", 2)[2]
    assert issued.secret.startswith(f"lo_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(secret_part.encode()).hexdigest()
    assert secret_part not in {token.prefix, token.secret_hash, token.name}


def test_a_token_authenticates_as_its_user(alice):
    token = APITokenFactory(user=alice)
    lead = LeadFactory(owner=alice)
    response = bearer(token.secret).get(LEADS)
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [lead.pk]


@pytest.mark.parametrize(
    "header",
    ["Bearer lo_000000000000_nope", "Bearer nonsense", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz"],
)
def test_a_bad_or_missing_token_is_401_with_www_authenticate(header, alice):
    APITokenFactory(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(LEADS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401():
    response = APIClient().get(LEADS)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_refused(alice):
    token = APITokenFactory(user=alice)
    assert api_token_authenticate(f"lo_{token.prefix}_wrong") is None
    assert bearer(f"lo_{token.prefix}_wrong").get(LEADS).status_code == 401


def test_a_revoked_token_stops_working(alice):
    token = APITokenFactory(user=alice)
    api_token_revoke(token=token, by=alice)
    assert bearer(token.secret).get(LEADS).status_code == 401


def test_a_token_of_a_deactivated_user_stops_working(alice):
    token = APITokenFactory(user=alice)
    alice.is_active = False
    alice.save()
    assert bearer(token.secret).get(LEADS).status_code == 401


def test_an_events_only_token_cannot_read_leads(marketer):
    token = APITokenFactory(user=marketer, kind="integration", scopes=["events:write"])
    response = bearer(token.secret).get(LEADS)
    assert response.status_code == 403 and "leads:read" in response.json()["detail"]


def test_a_read_token_cannot_write(marketer):
    token = APITokenFactory(user=marketer, scopes=["leads:read"])
    assert bearer(token.secret).post(LEADS, {"email": "x@example.com"}).status_code == 403


def test_last_used_is_written_at_most_once_a_minute(alice, django_assert_num_queries):
    token = APITokenFactory(user=alice)
    assert api_token_authenticate(token.secret).last_used_at is not None
    first = APIToken.objects.get(pk=token.pk).last_used_at
    # Within the minute: one read, no write.
    with django_assert_num_queries(1):
        api_token_authenticate(token.secret)
    assert APIToken.objects.get(pk=token.pk).last_used_at == first
    APIToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    assert api_token_authenticate(token.secret).last_used_at > first


def test_each_token_is_throttled_on_its_own(alice):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "2/min"}
    one, two = APITokenFactory(user=alice), APITokenFactory(user=alice)
    with override_settings(REST_FRAMEWORK={**_rest_settings(), "DEFAULT_THROTTLE_RATES": rates}):
        client = bearer(one.secret)
        assert [client.get(LEADS).status_code for _ in range(3)] == [200, 200, 429]
        assert bearer(two.secret).get(LEADS).status_code == 200


def _rest_settings() -> dict:
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_scopes_must_be_known(alice):
    with pytest.raises(ApplicationError, match="Unknown scope leads:delete"):
        api_token_create(user=alice, by=alice, name="x", scopes=["leads:delete"])


def test_only_marketing_and_admins_issue_integration_tokens(alice, marketer):
    with pytest.raises(ApplicationError, match="marketing or an admin"):
        api_token_create(user=alice, by=alice, name="x", scopes=["events:write"], kind="integration")
    issued = api_token_create(user=marketer, by=marketer, name="site", scopes=["events:write"], kind="integration")
    assert issued.token.scopes == ["events:write"]


def test_integration_tokens_cannot_carry_everything(marketer):
    with pytest.raises(ApplicationError, match="personal tokens only"):
        api_token_create(user=marketer, by=marketer, name="x", scopes=["*"], kind="integration")


def test_page_creates_a_token_and_shows_the_secret_once(client, alice):
    client.force_login(alice)
    response = client.post(reverse("tokens:list"), {"name": "laptop", "kind": "personal", "scopes": ["leads:read"]})
    assert response.status_code == 302  # reloading the page that shows the secret cannot issue another token
    shown = client.get(reverse("tokens:list"))
    secret = shown.context["issued"]["secret"]
    assert secret in shown.content.decode() and shown["Cache-Control"].startswith("max-age=0")
    again = client.get(reverse("tokens:list")).content.decode()
    assert secret not in again and "laptop" in again
    assert APIToken.objects.count() == 1
    assert bearer(secret).get(LEADS).status_code == 200


def test_rep_cannot_create_an_integration_token_on_the_page(client, alice):
    client.force_login(alice)
    response = client.post(reverse("tokens:list"), {"name": "x", "kind": "integration", "scopes": ["events:write"]})
    assert response.status_code == 400 and not APIToken.objects.exists()


def test_page_revokes_only_your_own_tokens(client, alice, bob):
    mine, theirs = APITokenFactory(user=alice), APITokenFactory(user=bob)
    client.force_login(alice)
    assert client.post(reverse("tokens:revoke", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("tokens:revoke", args=[mine.pk])).status_code == 302
    assert APIToken.objects.get(pk=mine.pk).revoked_at is not None
    assert APIToken.objects.get(pk=theirs.pk).revoked_at is None
    assert theirs.name not in client.get(reverse("tokens:list")).content.decode()


def test_command_prints_the_token_on_its_last_line(marketer):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token_create",
        "--user",
        marketer.username,
        "--name",
        "website",
        "--scopes",
        "events:write",
        "--kind",
        "integration",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip().splitlines()[-1]
    token = api_token_authenticate(secret)
    assert (token.user, token.kind, token.scopes) == (marketer, "integration", ["events:write"])


def test_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user"):
        call_command("api_token_create", "--user", "ghost", "--name", "x", "--scopes", "events:write")
