"""CSRF everywhere: no view opts out unless named below with its reason, and every POST needs the token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.url_patterns import routes

pytestmark = pytest.mark.django_db

# Views that may be csrf_exempt, by URL name, with why. Keep it short: every entry is a form any site can
# post to in the user's name.
CSRF_EXEMPT_ALLOWED: dict[str, str] = {}
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


@pytest.mark.parametrize("route", app_routes(), ids=lambda r: r.name)
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
