"""In a browser: marketing issues an events-only integration token (shown once), it works as scoped,
is revoked; the API docs page renders from our own static files with every other host blocked."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_status(base: str, path: str, token: str) -> int:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310 (the test's own live server)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_marketer_issues_an_events_token_then_revokes_it(page, live_server, marketer):
    log_in(page, marketer.username, DEMO_PASSWORD)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Website form")
    page.get_by_label("Integration").check()
    page.get_by_label("Send activity events").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret").locator("code").inner_text().strip()
    assert secret.startswith("lo_")
    assert api_status(live_server.url, "/api/leads/", secret) == 403

    page.reload()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    row = page.get_by_test_id("token-row").filter(has_text="Website form")
    expect(row).to_contain_text("events:write")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("token-row").filter(has_text="Website form")).to_contain_text("revoked")
    assert api_status(live_server.url, "/api/leads/", secret) == 401


def test_api_docs_render_offline(page, live_server, alice):
    log_in(page, alice.username, DEMO_PASSWORD)
    outside: list[str] = []

    def only_our_server(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_our_server)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("leadops API")
    expect(page.locator(".opblock-summary-path").filter(has_text="/api/leads/{id}/accept/")).to_have_count(1)
    assert outside == []
