"""Each role's main pages under the real Content-Security-Policy in Chromium: no violation, and htmx swaps
and Chart.js charts still work (CSP would make them fail silently, so the console is read)."""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from leads.lifecycle import Stage
from leads.selectors_uld import uld_active
from leads.services.imports import import_job_create
from scoring.defaults import default_definition_seed
from tests.browser.conftest import log_in
from tests.factories import DEMO_PASSWORD, CampaignFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # the queue caches each user's team time zone; ids repeat across tests
    if uld_active() is None:  # a transactional test's flush removed the definition the migration seeded
        default_definition_seed(django_apps.get_model)


@pytest.fixture
def console(page):
    """Collect every console message and page error of the tab."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def assert_no_csp_violation(console: list[str]) -> None:
    violations = [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert violations == []
    assert [m for m in console if m.startswith("pageerror")] == []


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    page.wait_for_load_state("networkidle")


def test_rep_queue_htmx_actions_lead_pages_and_charts_work_under_the_csp(page, console, alice):
    lead = LeadFactory(first_name="Nina", owner=alice, stage=Stage.MQL, grade="A", score=90)
    log_in(page, alice.username, DEMO_PASSWORD)

    visit(page, "/queue/")
    page.locator(f"#queue-lead-{lead.pk}").get_by_role("button", name="Accept").click()
    # The row is swapped in place by htmx: the SAL stage shows without a page load.
    page.wait_for_selector(f"#queue-lead-{lead.pk} [data-testid=row-stage]:has-text('SAL')")

    visit(page, f"/queue/lead/{lead.pk}/")
    touch = page.get_by_test_id("touch-form")
    touch.get_by_role("button").first.click()
    expect(page.locator("#lead-panel")).to_contain_text("Touch logged")

    visit(page, f"/leads/{lead.pk}/")
    # The score explanation is loaded by htmx (hx-trigger="load") and swapped into the page.
    expect(page.locator("#lead-score")).not_to_contain_text("Why this score?")
    visit(page, "/leads/")
    visit(page, "/uld/guide/")
    visit(page, "/reports/")
    page.wait_for_selector("canvas[data-chart][data-drawn='true']")
    assert_no_csp_violation(console)


def test_manager_board_scoring_and_definition_pages_work_under_the_csp(page, console, manager, alice):
    LeadFactory(owner=alice, stage=Stage.MQL)
    log_in(page, manager.username, DEMO_PASSWORD)
    visit(page, "/queue/board/")
    visit(page, "/uld/")
    visit(page, f"/uld/{uld_active().pk}/")
    page.goto("/scoring/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading").first).to_be_visible()
    visit(page, f"/scoring/versions/{uld_active().pk}/simulate/")
    visit(page, "/reports/alignment/")
    assert_no_csp_violation(console)


def test_marketer_import_setup_swaps_with_htmx_under_the_csp(page, console, marketer):
    csv = b"Email,First Name,Company\r\nada@example.com,Ada,Acme\r\nbob@example.com,Bob,Globex\r\n"
    job = import_job_create(by=marketer, upload=SimpleUploadedFile("show.csv", csv), campaign=CampaignFactory())
    log_in(page, marketer.username, DEMO_PASSWORD)
    visit(page, "/imports/")
    visit(page, "/imports/new/")
    visit(page, f"/imports/{job.pk}/configure/")
    # Changing a setting posts the form with htmx and swaps the preview in place.
    with page.expect_response(lambda r: f"/imports/{job.pk}/configure/" in r.url and r.request.method == "POST"):
        page.get_by_test_id("map-2").select_option("ignore")
    expect(page.get_by_test_id("map-2")).to_have_value("ignore")
    visit(page, f"/scoring/versions/{uld_active().pk}/rules/")
    visit(page, "/reports/review/")
    assert_no_csp_violation(console)


def test_executive_dashboard_charts_draw_under_the_csp(page, console, executive):
    log_in(page, executive.username, DEMO_PASSWORD)
    visit(page, "/reports/")
    page.wait_for_selector("canvas[data-chart][data-drawn='true']")
    visit(page, "/reports/revenue-gap/")
    visit(page, "/reports/alignment/")
    assert_no_csp_violation(console)


def test_a_csp_violation_would_be_seen(page, console, executive):
    """The check above can fail: an inline script on a page under this CSP is reported in the console."""
    log_in(page, executive.username, DEMO_PASSWORD)
    visit(page, "/reports/")
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }")
    page.wait_for_timeout(200)
    assert any("Content Security Policy" in m for m in console)


def test_admin_status_page_and_admin_site_work_under_the_csp(page, console, admin_user, alice):
    LeadFactory(owner=alice)
    log_in(page, admin_user.username, DEMO_PASSWORD)
    visit(page, "/system/status/")
    visit(page, "/admin/")
    visit(page, "/admin/leads/lead/")
    visit(page, "/admin/leads/campaign/add/")
    assert_no_csp_violation(console)


def test_nurture_webhooks_and_tokens_pages_work_under_the_csp(page, console, marketer):
    from leads.models import WebhookEndpoint
    from tests.nurture.conftest import b_lead, three_step_track

    track = three_step_track(by=marketer)
    lead = b_lead(first_name="Prue")
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook", created_by=marketer)
    log_in(page, marketer.username, DEMO_PASSWORD)
    visit(page, "/nurture/")
    # The builder with a step previewed for a lead: the rendered email is on the page.
    visit(page, f"/nurture/{track.slug}/?lead={lead.pk}")
    expect(page.get_by_text("Prue").first).to_be_visible()
    visit(page, f"/nurture/{track.slug}/results/")
    visit(page, "/integrations/webhooks/")
    visit(page, f"/integrations/webhooks/{endpoint.pk}/")
    visit(page, "/tokens/")
    assert_no_csp_violation(console)


def test_the_api_docs_swagger_ui_renders_under_the_csp(page, console, marketer):
    log_in(page, marketer.username, DEMO_PASSWORD)
    visit(page, "/api/docs/")
    # Swagger UI builds its page from the schema in script: the operations show only if it ran.
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert_no_csp_violation(console)
