"""The whole import journey in Chromium: upload, map, preview, run, progress, result, error file, undo.

The background run is driven from the test: starting the import would enqueue the Celery task; the
test records that enqueue instead and runs the task's body (`import_job_run`) itself while the page
polls. A real worker would be a separate process, which cannot see the live server's test database in
SQLite mode; the task's broker path is tested in tests/leads/test_import_tasks.py.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from leads.models import ImportJob, ImportStatus, Lead
from leads.services.imports import run as import_run
from tests.factories import DEMO_PASSWORD, CampaignFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def import_page(chromium_browser, live_server):
    context = chromium_browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_marketer_imports_a_show_list_end_to_end(
    import_page, live_server, migrated_data, marketer, monkeypatch, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    enqueued: list[int] = []
    monkeypatch.setattr(import_run, "_enqueue", enqueued.append)
    CampaignFactory(name="Other show")
    LeadFactory(email="known@example.com", first_name="Kim", last_name="", company_name="")
    source = tmp_path / "booth.csv"
    source.write_bytes(
        "Vorname;Nachname;E-Mail;Firma;Mitarbeiter;Stadt\r\n"
        "Zoë;Ähm;zoe@example.com;Müller GmbH;250;Köln\r\n"
        "Kim;Known;KNOWN@example.com;Known AG;11-50;Bonn\r\n"
        "Zoë;Again;ZOE@example.com;Müller GmbH;;Köln\r\n"
        'Bad;Mail;bad at example.com;=HYPERLINK("x");viele;Ulm\r\n'.encode("cp1252")
    )
    page = import_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", marketer.username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Imports")
    page.click("[data-testid=new-import]")

    page.set_input_files("#id_file", str(source))
    page.fill("#id_source", "Booth app")
    page.fill("#id_new_campaign_name", "Hannover Messe 2026")
    page.fill("input[name=starts_on]", "2026-04-20")
    page.fill("input[name=ends_on]", "2026-04-24")
    page.fill("input[name=cost]", "25000")
    page.click("text=Upload and preview")

    # Detected cp1252 and ';'; the preview shows totals and the invalid email on its cell.
    assert page.locator("[data-testid=encoding]").input_value() == "cp1252"
    assert page.locator("[data-testid=delimiter]").input_value() == ";"
    assert page.locator("[data-testid=total-new]").inner_text() == "1"
    assert page.locator("[data-testid=total-dupes]").inner_text() == "1"
    assert page.locator("[data-testid=total-existing]").inner_text() == "1"
    assert page.locator("[data-testid=total-errors]").inner_text() == "1"
    assert "Müller GmbH" in page.locator("[data-testid=preview]").inner_text()
    assert page.locator("[data-testid=preview] td.cell-error").first.inner_text().startswith("bad at example.com")

    # Overriding the encoding changes the preview in place (htmx), then back.
    page.select_option("[data-testid=encoding]", "cp437")
    page.wait_for_function("document.querySelector('[data-testid=encoding]').value === 'cp437'")
    page.wait_for_selector("text=M" + "\u00fc".encode("cp1252").decode("cp437") + "ller GmbH")
    page.select_option("[data-testid=encoding]", "cp1252")
    page.wait_for_selector("[data-testid=preview] >> text=Müller GmbH")

    # Map the city to extra data, fill empty fields on existing leads, start.
    assert page.locator("[data-testid=map-5]").input_value() == "extra"
    # Each change re-renders the whole setup form (htmx): wait for one swap before the next change, or
    # a late swap puts back the server's earlier state over what was just clicked.
    saved = lambda r: "/configure/" in r.url and r.request.method == "POST"  # noqa: E731
    with page.expect_response(saved):
        page.select_option("[data-testid=map-4]", "employees")
    page.wait_for_function("document.querySelector('[data-testid=map-4]').value === 'employees'")
    with page.expect_response(saved):
        page.check("input[name=duplicate_policy][value=fill]")
    page.wait_for_timeout(100)  # htmx's settle after the swap
    assert page.locator("input[name=duplicate_policy][value=fill]").is_checked()
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=import-status]")
    assert page.locator("[data-testid=import-status]").inner_text() == "Queued"
    job = ImportJob.objects.get()
    assert enqueued == [job.pk]

    import_run.import_job_run(job_id=job.pk)  # the worker's part, while the page polls
    page.wait_for_selector("#import-progress[data-status=done]")
    assert page.locator("[data-testid=count-created]").inner_text() == "1"
    assert page.locator("[data-testid=count-updated]").inner_text() == "1"
    assert page.locator("[data-testid=count-duplicates]").inner_text() == "1"
    assert page.locator("[data-testid=count-errors]").inner_text() == "1"
    assert page.locator("[data-testid=progress]").get_attribute("value") == "4"

    with page.expect_download() as download_info:
        page.click("[data-testid=error-file]")
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[1][:3] == ["5", "'bad at example.com' is not a valid email address.", "Bad"]
    assert rows[1][5] == '\'=HYPERLINK("x")'

    page.click("[data-testid=batch-leads]")
    table = page.locator("[data-testid=batch-table]").inner_text()
    assert "zoe@example.com" in table and "known@example.com" in table
    zoe = Lead.objects.get(email="zoe@example.com")
    assert (zoe.first_name, zoe.company_name, zoe.extra, zoe.campaign.name) == (
        "Zoë",
        "Müller GmbH",
        {"Stadt": "Köln"},
        "Hannover Messe 2026",
    )
    page.go_back()

    page.click("[data-testid=undo]")
    page.wait_for_selector("[data-testid=undo-report]")
    assert ImportJob.objects.get().status == ImportStatus.UNDONE
    assert list(Lead.objects.values_list("email", "last_name")) == [("known@example.com", "")]
