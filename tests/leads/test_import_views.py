"""The import pages and API: who may use them, the happy path, and bad files getting a clear 400."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.models import Campaign, ImportJob, ImportStatus, Lead
from leads.services.imports import import_dir, import_job_run
from tests.factories import CampaignFactory
from tests.leads.import_files import BILLION_LAUGHS, shared_dir, sheet_xml, xlsx_bytes, zip_bomb_bytes

pytestmark = pytest.mark.django_db
SHARED = shared_dir()
CSV = (
    b"Email,First Name,Company,Notes\r\n"
    b"ada@example.com,Ada,<script>alert(1)</script>,=cmd|' /C calc'!A0\r\n"
    b"bad at example.com,Bob,Acme,\r\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign(db):
    return CampaignFactory(name="Expo")


@pytest.mark.parametrize("who", ["alice", "executive", "manager"])
def test_only_marketing_and_admins_may_import(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.get(reverse("imports:new")).status_code == 403
    assert client.post(reverse("imports:api_upload"), {}).status_code == 403


def test_marketing_sees_imports_in_the_navigation(client, marketer):
    client.force_login(marketer)
    response = client.get(reverse("imports:list"))
    assert response.status_code == 200
    assert reverse("imports:list") in [item.url for item in response.context["nav_items"]]


def upload(client, content: bytes, name: str, **extra):
    data = {"file": SimpleUploadedFile(name, content), "source": "Booth app", **extra}
    return client.post(reverse("imports:new"), data)


def test_journey_upload_preview_start_progress_result_errors_undo(
    client, marketer, campaign, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    response = upload(client, CSV, "show.csv", campaign=campaign.pk)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:configure", args=[job.pk])
    page = client.get(response.url)
    html = page.content.decode()
    assert page.context["preview"].new == 1 and page.context["preview"].errors == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)</script>" not in html
    assert "cell-error" in html and "is not a valid email address" in html
    partial = client.post(
        response.url,
        {"encoding": "cp1252", "delimiter": ",", "header_line": 1, "duplicate_policy": "fill", "keep_extra": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200 and b'id="import-setup"' in partial.content and b"<html" not in partial.content
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(
            response.url,
            {
                "action": "start",
                "map_0": "email",
                "map_1": "first_name",
                "map_2": "company_name",
                "map_3": "notes",
                "duplicate_policy": "skip",
            },
        )
    assert started.status_code == 302 and len(callbacks) == 1
    progress = client.get(reverse("imports:progress", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in progress.content  # polls while queued
    import_job_run(job_id=job.pk)
    done = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in done and 'data-testid="count-created">1<' in done
    errors = b"".join(client.get(reverse("imports:errors", args=[job.pk])).streaming_content).decode()
    assert "bad at example.com" in errors
    batch = client.get(reverse("imports:leads", args=[job.pk]))
    assert [lead.email for lead in batch.context["leads"]] == ["ada@example.com"]
    assert Lead.objects.get().company_name == "<script>alert(1)</script>"
    client.post(reverse("imports:undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE and not Lead.objects.exists()


def test_upload_can_create_the_campaign(client, marketer):
    client.force_login(marketer)
    response = upload(
        client,
        CSV,
        "show.csv",
        new_campaign_name="Web Summit 2026",
        starts_on="2026-11-03",
        ends_on="2026-11-06",
        cost="12000",
    )
    assert response.status_code == 302
    assert ImportJob.objects.get().campaign.name == "Web Summit 2026"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"Email,Name\r\n", "header-only.csv", "no data rows"),
        (b"%PDF-1.4 ...", "list.xlsx", "PDF"),
        (b"just text", "list.docx", "not a CSV"),
        (zip_bomb_bytes(), "bomb.xlsx", "zip bomb"),
        (xlsx_bytes(sheet_xml([["email"]], prolog=BILLION_LAUGHS)), "lol.xlsx", "entities"),
    ],
)
def test_bad_files_get_a_clear_message_not_a_500(client, marketer, campaign, content, name, message):
    client.force_login(marketer)
    response = upload(client, content, name, campaign=campaign.pk)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_file_over_the_limit_is_refused(client, marketer, campaign, settings):
    settings.LEADOPS_IMPORT_MAX_BYTES = 20
    client.force_login(marketer)
    response = upload(client, CSV, "big.csv", campaign=campaign.pk)
    assert response.status_code == 400 and "the limit is" in response.content.decode()


def test_start_without_an_email_column_says_so(client, marketer, campaign):
    client.force_login(marketer)
    upload(client, CSV, "show.csv", campaign=campaign.pk)
    job = ImportJob.objects.get()
    response = client.post(
        reverse("imports:configure", args=[job.pk]),
        {
            "action": "start",
            "map_0": "ignore",
            "map_1": "first_name",
            "map_2": "company_name",
            "map_3": "notes",
            "duplicate_policy": "skip",
        },
    )
    assert response.status_code == 400 and "No column is mapped to Email" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_api_upload_then_status(client, marketer, campaign, django_capture_on_commit_callbacks):
    client.force_login(marketer)
    name = "cvent-style-badge-scans.csv"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("imports:api_upload"),
            {"file": SimpleUploadedFile(name, (SHARED / "data" / name).read_bytes()), "campaign": campaign.pk},
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["detected"]["delimiter"] == "," and len(callbacks) == 1
    import_job_run(job_id=body["id"])
    status = client.get(body["status_url"]).json()
    assert (status["status"], status["created"], status["errors"]) == ("done", 359, 44)


def test_api_refuses_a_bad_file_with_a_message(client, marketer, campaign):
    client.force_login(marketer)
    response = client.post(
        reverse("imports:api_upload"), {"file": SimpleUploadedFile("x.xlsx", b"%PDF-1"), "campaign": campaign.pk}
    )
    assert response.status_code == 400 and "PDF" in response.json()["detail"]


REFUSED_FILES = [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "booth.png", "not a CSV", id="png"),
    pytest.param(b"Email,Name\r\n", "header-only.csv", "no data rows", id="header-only"),
]


@pytest.mark.parametrize(("content", "name", "message"), REFUSED_FILES)
def test_refused_upload_on_the_page_creates_no_campaign(client, marketer, content, name, message):
    client.force_login(marketer)
    response = upload(client, content, name, new_campaign_name="Web Summit 2026", starts_on="2026-11-03")
    assert response.status_code == 400 and message in response.content.decode()
    assert not Campaign.objects.exists() and not ImportJob.objects.exists()
    # The form keeps what was typed, so sending a good file creates the campaign once.
    assert response.context["form"]["new_campaign_name"].value() == "Web Summit 2026"
    assert upload(client, CSV, "show.csv", new_campaign_name="Web Summit 2026").status_code == 302
    assert Campaign.objects.get().name == "Web Summit 2026"


@pytest.mark.parametrize(("content", "name", "message"), REFUSED_FILES)
def test_refused_upload_on_the_api_creates_no_campaign(client, marketer, content, name, message):
    client.force_login(marketer)
    response = client.post(
        reverse("imports:api_upload"), {"file": SimpleUploadedFile(name, content), "campaign_name": "Web Summit 2026"}
    )
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not Campaign.objects.exists() and not ImportJob.objects.exists()


def test_api_upload_refused_at_start_leaves_no_campaign_and_no_draft(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("imports:api_upload"),
        {
            "file": SimpleUploadedFile("show.csv", CSV),
            "campaign_name": "Web Summit 2026",
            "mapping": '{"0": "ignore", "1": "first_name", "2": "company_name", "3": "notes"}',
        },
    )
    assert response.status_code == 400 and "No column is mapped to Email" in response.json()["detail"]
    assert not Campaign.objects.exists() and not ImportJob.objects.exists()
    assert not any(import_dir().glob("*"))  # nor the stored file
