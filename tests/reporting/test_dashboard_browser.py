"""Done means: an executive opens the dashboard, changes the period and a filter, opens the alignment report
and the revenue-gap calculator, and exports a CSV, in a real Chromium."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from leads.roles import Role
from reporting.services import rollups_refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    # A transactional test flushes the groups the data migration made; put them back first.
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@pytest.fixture
def chromium(chromium_browser):
    return chromium_browser


@pytest.fixture
def executive_page(chromium, live_server, executive):
    client = Client()
    client.force_login(executive)
    context = chromium.new_context(accept_downloads=True)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    yield page
    context.close()


def test_executive_reads_the_funnel_alignment_and_revenue_gap_and_exports_csv(live_server, executive_page, march):
    rollups_refresh()
    page = executive_page
    page.goto(f"{live_server.url}/reports/")
    assert page.get_by_role("heading", name="Funnel dashboard").is_visible()
    page.wait_for_selector('canvas[data-chart="chart-data-flow"][data-drawn="true"]')
    assert page.get_by_test_id("table-flow").is_visible()

    page.select_option("select[name=period]", "custom")
    page.fill("input[name=start]", "2026-03-01")
    page.fill("input[name=end]", "2026-03-31")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=custom**")
    assert page.get_by_test_id("period").inner_text() == "2026-03-01 to 2026-03-31"
    mql = page.get_by_test_id("table-flow").locator("tr", has=page.locator("th", has_text="MQL"))
    assert mql.locator("td").inner_text() == "5"

    page.select_option("select[name=source]", "inbound")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**source=inbound**")
    mql = page.get_by_test_id("table-flow").locator("tr", has=page.locator("th", has_text="MQL"))
    assert mql.locator("td").inner_text() == "4"  # L1, L2 twice, L5
    page.wait_for_selector('canvas[data-chart="chart-data-cohort"][data-drawn="true"]')

    page.get_by_role("link", name="Alignment").click()
    page.wait_for_url("**/reports/alignment/?**source=inbound**")
    all_row = page.get_by_test_id("table-alignment").locator("tbody tr").first
    assert all_row.locator("th").inner_text() == "All"
    assert page.get_by_test_id("table-sla_rep").locator("thead th").last.inner_text() == "Compliance %"
    assert page.locator("select[name=uld]").is_enabled()

    page.get_by_role("link", name="Revenue gap").click()
    page.wait_for_url("**/reports/revenue-gap/**")
    page.fill("input[name=target]", "100000")
    page.get_by_role("button", name="Calculate").click()
    page.wait_for_url("**target=100000**")
    won = page.get_by_test_id("table-revenue_gap").locator("tbody tr").first
    assert won.locator("td").first.inner_text() == "10"

    with page.expect_download() as download_info:
        page.locator("#section-revenue_gap").get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "revenue_gap.csv"
    with open(download.path(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "Stage,Needed,In pipeline now,Gap"
    assert lines[1].startswith("Won deals,10,")
