"""Uploaded files: stored under generated names, size-limited, and only ever sent back as downloads."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leadops.downloads import attachment_disposition, safe_filename
from leadops.errors import ApplicationError
from leads.models import ImportJob
from leads.services.imports import import_dir, import_job_create
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
CSV = b"Email,First Name\r\nada@example.com,Ada\r\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.csv", "<script>alert(1)</script>.csv", "evil\r\nSet-Cookie: x=1.csv", "..\\..\\win.csv"],
)
def test_a_naughty_file_name_never_reaches_the_file_system(marketer, name):
    job = import_job_create(by=marketer, upload=SimpleUploadedFile(name, CSV), campaign=CampaignFactory())
    stored = list(import_dir().iterdir())
    assert [p.name for p in stored] == [job.stored_name]
    assert job.stored_name[:-4].isalnum() and len(job.stored_name) == 36, "a uuid and the extension"
    assert stored[0].resolve().parent == import_dir().resolve()


@pytest.mark.parametrize(
    ("name", "saved_as"),
    [
        ("../../etc/passwd", "passwd"),
        ("<script>.csv", "_script_.csv"),
        ("list\r\nSet-Cookie: a=b.csv", "listSet-Cookie_ a=b.csv"),
        ('say "hi".csv', "say _hi_.csv"),
        ("\u202egnp.csv", "gnp.csv"),  # a right-to-left override that would show the name reversed
        ("...", "download"),
    ],
)
def test_download_names_are_sanitised(name, saved_as):
    assert safe_filename(name) == saved_as
    header = attachment_disposition(name)
    assert "\r" not in header and "\n" not in header
    assert header.startswith("attachment; ")
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == saved_as


def test_non_ascii_names_keep_their_characters_in_filename_star():
    header = attachment_disposition("Messe Köln.csv")
    assert 'filename="Messe K_ln.csv"' in header
    assert "filename*=UTF-8''Messe%20K%C3%B6ln.csv" in header


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(marketer, settings):
    settings.LEADOPS_IMPORT_MAX_BYTES = 10
    with pytest.raises(ApplicationError, match="limit"):
        import_job_create(by=marketer, upload=SimpleUploadedFile("big.csv", CSV), campaign=CampaignFactory())
    assert not import_dir().exists() or list(import_dir().iterdir()) == []


def test_the_original_file_downloads_as_an_attachment_that_is_never_rendered(client, marketer):
    name = "<script>alert(1)</script>\r\n.csv"
    job = import_job_create(by=marketer, upload=SimpleUploadedFile(name, CSV), campaign=CampaignFactory())
    client.force_login(marketer)
    response = client.get(reverse("imports:original", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "<" not in disposition and "\n" not in disposition


def test_the_error_file_is_a_csv_attachment(client, marketer):
    job = import_job_create(by=marketer, upload=SimpleUploadedFile("a.csv", CSV), campaign=CampaignFactory())
    client.force_login(marketer)
    response = client.get(reverse("imports:errors", args=[job.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"import-{job.pk}-errors.csv\"; filename*=UTF-8''import-{job.pk}-errors.csv"
    )


def test_a_missing_stored_file_is_a_404_not_a_500(client, marketer):
    job = import_job_create(by=marketer, upload=SimpleUploadedFile("a.csv", CSV), campaign=CampaignFactory())
    (import_dir() / job.stored_name).unlink()
    client.force_login(marketer)
    assert client.get(reverse("imports:original", args=[job.pk])).status_code == 404
    assert ImportJob.objects.filter(pk=job.pk).exists()
