"""CSRF everywhere: no view opts out unless named below with its reason, and every POST needs the token."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from tests.url_patterns import routes

pytestmark = pytest.mark.django_db

# Views that may be csrf_exempt, by URL name, with why. Keep it short: every entry is a form any site can
# post to in the user's name.
CSRF_EXEMPT_ALLOWED: dict[str, str] = {
    # RFC 8058 one-click unsubscribe: mail clients POST from outside any session, so there is no CSRF token
    # to send. The signed token in the URL is the proof, and it can only unsubscribe the lead it names.
    "nurture:unsubscribe": "RFC 8058 one-click POST from mail clients; the signed token is the proof",
}
# Django REST framework marks every API view csrf_exempt and enforces CSRF itself: SessionAuthentication
# checks the token on unsafe methods, and token (Bearer) authentication carries no ambient credential a
# forged cross-site request could use. test_api_with_a_session_still_needs_the_csrf_token proves the former.
DRF_VIEWS_ENFORCE_CSRF_THEMSELVES = True


def placeholder_kwargs(route) -> dict[str, object]:
    return {name: "fit" if name == "kind" else 1 for name in route.params}


def test_no_view_is_csrf_exempt_outside_the_allow_list():
    exempt = {
        r.name or r.route
        for r in routes()
        if getattr(r.callback, "csrf_exempt", False) and not (r.is_drf and DRF_VIEWS_ENFORCE_CSRF_THEMSELVES)
    }
    assert exempt <= set(CSRF_EXEMPT_ALLOWED), f"csrf_exempt views not in CSRF_EXEMPT_ALLOWED: {exempt}"


def app_routes():
    return [r for r in routes() if r.name and not r.name.startswith("admin:") and not r.is_drf]


@pytest.mark.parametrize("route", [r for r in app_routes() if r.name not in CSRF_EXEMPT_ALLOWED], ids=lambda r: r.name)
def test_a_post_without_the_csrf_token_is_refused(route, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = reverse(route.name, kwargs=placeholder_kwargs(route))
    response = client.post(url, {"anything": "1"})
    assert response.status_code == 403, url
    assert b'data-testid="error-csrf"' in response.content, "refused by the CSRF check, not by the view"


def test_a_post_with_the_csrf_token_passes_the_check(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(reverse("queue:notifications"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("queue:notifications_read"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_htmx_requests_send_the_token_in_a_header(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    page = client.get(reverse("queue:notifications"))
    token = client.cookies["csrftoken"].value
    assert b"X-CSRFToken" in page.content, "base.html hands htmx the token"
    response = client.post(reverse("queue:notifications_read"), HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert response.status_code == 302


def test_api_with_a_session_still_needs_the_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = client.post(reverse("imports:api_upload"), {})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize("name", sorted(CSRF_EXEMPT_ALLOWED))
def test_an_exempt_view_refuses_a_post_whose_token_is_not_signed(name, admin_user):
    """Exempt from CSRF, not from proof: the placeholder token is no signature, so the view says no."""
    route = next(r for r in app_routes() if r.name == name)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse(name, kwargs=placeholder_kwargs(route)), {"anything": "1"})
    assert response.status_code == 400
    assert b'data-testid="error-csrf"' not in response.content


# --- The one exempt view: one-click unsubscribe, proved by its signed token --------------------------


def tampered(token: str) -> str:
    """The same token with one character of its signature changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def nurture_world(marketer):
    from nurture.models import Enrolment
    from nurture.services.enrolment import enrolment_create
    from tests.nurture.conftest import nurture_lead, three_step_track

    track = three_step_track(by=marketer)
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    return lead, Enrolment.objects.get(lead=lead)


def nurture_state(lead) -> tuple:
    from leads.models import Activity
    from nurture.models import Enrolment, Suppression

    return (
        list(Suppression.objects.values_list("lead_id", "reason")),
        list(Enrolment.objects.filter(lead=lead).values_list("status", "exit_reason")),
        Activity.objects.filter(lead=lead).count(),
    )


def test_a_one_click_unsubscribe_with_a_bad_token_changes_nothing_and_says_so(marketer):
    from nurture.tokens import click_token, unsubscribe_token

    lead, _ = nurture_world(marketer)
    before = nurture_state(lead)
    client = Client(enforce_csrf_checks=True)  # a mail client: no session, no CSRF token
    bad_tokens = {
        "tampered": tampered(unsubscribe_token(lead.pk)),
        "signed for clicks": click_token(lead.pk),
        "no such lead": unsubscribe_token(999_999_999),
        "garbage": "not-a-token",
        "a string, signed": signing.dumps("x", salt="nurture.unsubscribe"),
    }
    wrong = []
    for label, token in bad_tokens.items():
        response = client.post(reverse("nurture:unsubscribe", args=[token]), {"List-Unsubscribe": "One-Click"})
        if response.status_code != 400 or b"This link is not valid" not in response.content:
            wrong.append(f"{label}: {response.status_code}")
    assert wrong == []
    assert nurture_state(lead) == before


def test_a_one_click_unsubscribe_with_the_signed_token_unsubscribes_without_a_session(marketer):
    from nurture.models import Suppression
    from nurture.tokens import unsubscribe_token

    lead, enrolment = nurture_world(marketer)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("nurture:unsubscribe", args=[unsubscribe_token(lead.pk)]), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200 and b'data-testid="unsubscribed"' in response.content
    assert Suppression.objects.get(lead=lead).reason == Suppression.Reason.UNSUBSCRIBED
    enrolment.refresh_from_db()
    assert enrolment.status == "exited" and enrolment.exit_reason == "unsubscribed"


def test_a_tracked_click_with_a_bad_token_is_a_400_and_records_nothing(marketer):
    from leads.models import Activity
    from nurture.tokens import click_token, unsubscribe_token

    lead, _ = nurture_world(marketer)
    before = Activity.objects.count()
    client = Client()
    for token in (tampered(click_token(1)), unsubscribe_token(lead.pk), click_token(999_999_999), "x" * 300):
        response = client.get(reverse("nurture:click", args=[token]))
        assert response.status_code == 400, token
    assert Activity.objects.count() == before
