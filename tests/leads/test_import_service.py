"""The import service end to end on the database: the shared lists, duplicates, resume, undo."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import (
    Activity,
    ActivityKind,
    DuplicatePolicy,
    ImportChange,
    ImportJob,
    ImportStatus,
    Lead,
    MappingPreset,
    SourceChannel,
    StageChange,
)
from leads.selectors_imports import import_batch_leads, import_error_file
from leads.services import imports as service
from leads.services.activities import activity_record
from leads.services.imports import (
    import_job_cancel,
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_run,
    import_job_start,
    import_job_undo,
    mapping_preset_save,
)
from leads.services.imports import run as service_run
from tests.factories import CampaignFactory, LeadFactory
from tests.leads.import_files import count_part_reads, many_strings_workbook, shared_dir

pytestmark = pytest.mark.django_db
SHARED = shared_dir()
EXPECTED = json.loads((SHARED / "data/expected.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign(db):
    return CampaignFactory(name="Berlin Expo 2026")


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(job, by, django_capture_on_commit_callbacks, **config):
    if config:
        import_job_configure(job=job, **config)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_job_start(job=job, by=by)
    assert len(callbacks) == 1  # enqueued once, after commit
    return import_job_run(job_id=job.pk)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shared_list_imports_to_exactly_its_expected_leads(
    name, marketer, campaign, django_capture_on_commit_callbacks
):
    expected = EXPECTED[name]
    job = import_job_create(by=marketer, upload=upload((SHARED / "data" / name).read_bytes(), name), campaign=campaign)
    job = run(job, marketer, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert set(leads) == set(expected["leads"])
    for email, want in expected["leads"].items():
        lead = leads[email]
        assert (lead.first_name, lead.last_name, lead.company_name) == (
            want["first_name"],
            want["last_name"],
            want["company"],
        ), email
    assert job.error_count == expected["rows_with_invalid_or_missing_email"]
    assert job.created_count == expected["unique_valid_emails"]
    assert job.rows_done == job.total_rows == expected["data_rows"]
    assert job.duplicate_count == expected["data_rows"] - expected["unique_valid_emails"] - job.error_count
    lead = next(iter(leads.values()))
    assert (lead.stage, lead.source_channel, lead.campaign_id) == (Stage.INQUIRY, SourceChannel.EVENT, campaign.pk)
    assert StageChange.objects.count() == Activity.objects.filter(kind=ActivityKind.BADGE_SCAN).count() == len(leads)


def test_excel_numbers_stay_phone_text_and_ratings_and_notes_land_on_the_badge_scan(
    marketer, campaign, django_capture_on_commit_callbacks
):
    name = "booth-export-with-title-rows.xlsx"
    job = import_job_create(by=marketer, upload=upload((SHARED / "data" / name).read_bytes(), name), campaign=campaign)
    run(job, marketer, django_capture_on_commit_callbacks)
    lead = Lead.objects.get(email="n.1@kellerltd.example.com")
    assert lead.phone == "442079460958"
    scan = Activity.objects.get(lead=lead, kind=ActivityKind.BADGE_SCAN)
    assert scan.payload["rating"] == "A" and scan.payload["notes"] == "Line one\nline two"


def test_formula_looking_values_are_stored_as_typed_and_neutralised_in_the_error_file(
    marketer, campaign, django_capture_on_commit_callbacks
):
    content = csv_bytes(
        [
            ["Email", "Company", "Notes"],
            ["ok@example.com", "@SUM(A1:A2)", "=1+1"],
            ["not an email", '=HYPERLINK("http://x.invalid")', "+cmd"],
        ]
    )
    job = run(
        import_job_create(by=marketer, upload=upload(content, "f.csv"), campaign=campaign),
        marketer,
        django_capture_on_commit_callbacks,
    )
    assert Lead.objects.get().company_name == "@SUM(A1:A2)"
    rows = list(csv.reader(io.StringIO("".join(import_error_file(job=job)).lstrip("\ufeff"))))
    assert rows[0] == ["Line", "Reason", "Email", "Company", "Notes"]
    assert rows[1][0] == "3" and "not a valid email" in rows[1][1]
    assert rows[1][3:] == ['\'=HYPERLINK("http://x.invalid")', "'+cmd"]


def test_naughty_strings_round_trip_exactly_as_names_and_companies(
    marketer, campaign, django_capture_on_commit_callbacks
):
    strings = [s for s in json.loads((SHARED / "corpora/blns/blns.json").read_text(encoding="utf-8")) if s]
    rows = [["Email", "First Name", "Company"]]
    rows += [[f"n{i}@example.com", s, s] for i, s in enumerate(strings)]
    job = run(
        import_job_create(by=marketer, upload=upload(csv_bytes(rows), "blns.csv"), campaign=campaign),
        marketer,
        django_capture_on_commit_callbacks,
    )
    stored = {lead.email: lead for lead in Lead.objects.all()}
    fitting = 0
    for i, s in enumerate(strings):
        lead = stored.get(f"n{i}@example.com")
        if len(s) > 150:  # longer than a first name holds: rejected to the error file, not truncated
            assert lead is None
            continue
        fitting += 1
        assert (lead.first_name, lead.company_name) == (s, s)
    assert job.created_count == fitting and job.error_count == len(strings) - fitting


def existing_and_file(campaign, marketer):
    lead = LeadFactory(email="ada@example.com", first_name="Ada", last_name="", title="CTO", company_name="Old Co")
    content = csv_bytes(
        [
            ["Email", "First Name", "Last Name", "Title", "Company"],
            ["  ADA@Example.com ", "Augusta", "Lovelace", "Countess", "New Co"],
            ["new@example.com", "Nina", "New", "", ""],
        ]
    )
    return lead, import_job_create(by=marketer, upload=upload(content, "dupes.csv"), campaign=campaign)


@pytest.mark.parametrize(
    ("policy", "first", "last", "title", "updated", "skipped"),
    [
        (DuplicatePolicy.SKIP, "Ada", "", "CTO", 0, 1),
        (DuplicatePolicy.FILL, "Ada", "Lovelace", "CTO", 1, 0),
        (DuplicatePolicy.OVERWRITE, "Augusta", "Lovelace", "Countess", 1, 0),
    ],
)
def test_duplicate_policy_against_an_existing_lead_matched_case_insensitively(
    policy, first, last, title, updated, skipped, marketer, campaign, django_capture_on_commit_callbacks
):
    lead, job = existing_and_file(campaign, marketer)
    job = run(job, marketer, django_capture_on_commit_callbacks, duplicate_policy=policy)
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.title) == (first, last, title)
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, updated, skipped)
    assert Lead.objects.count() == 2
    assert lead.activities.filter(kind=ActivityKind.BADGE_SCAN).count() == 1


def test_preview_counts_new_in_file_duplicates_existing_matches_and_errors(marketer, campaign):
    LeadFactory(email="old@example.com")
    content = csv_bytes(
        [
            ["E-mail", "Name", "No. of Employees"],
            ["a@example.com", "Ann A", "lots"],
            ["A@EXAMPLE.COM", "Ann again", "5"],
            ["OLD@example.com", "Old", ""],
            ["broken", "Bad", ""],
        ]
    )
    job = import_job_create(by=marketer, upload=upload(content, "p.csv"), campaign=campaign)
    preview = import_job_preview(job=job)
    assert (preview.total, preview.new, preview.in_file_duplicates, preview.existing_matches, preview.errors) == (
        4,
        1,
        1,
        1,
        1,
    )
    first = preview.rows[0]
    assert first.row.fields["first_name"] == "Ann" and 2 in first.row.warnings
    assert Lead.objects.count() == 1  # the preview writes nothing


def test_killed_worker_resumes_from_the_checkpoint_without_duplicates_or_lost_rows(
    marketer, campaign, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(service_run, "CHUNK_ROWS", 3)
    rows = [["Email", "First Name"]] + [[f"p{i}@example.com", f"P{i}"] for i in range(10)] + [["p1@example.com", "x"]]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "r.csv"), campaign=campaign)
    real_commit = service_run._chunk_commit
    calls = {"n": 0}

    def dying_commit(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return real_commit(**kwargs)

    monkeypatch.setattr(service_run, "_chunk_commit", dying_commit)
    with django_capture_on_commit_callbacks(execute=False):
        import_job_start(job=job, by=marketer)
    with pytest.raises(SystemExit):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING and job.rows_done == 6 and Lead.objects.count() == 6
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert Lead.objects.count() == 10
    assert (job.rows_done, job.created_count, job.duplicate_count, job.attempts) == (11, 10, 1, 2)
    assert Activity.objects.count() == 10
    assert import_job_run(job_id=job.pk).created_count == 10  # a redelivered message changes nothing


def test_cancel_stops_at_the_next_chunk_and_keeps_what_was_committed(marketer, campaign, monkeypatch):
    monkeypatch.setattr(service_run, "CHUNK_ROWS", 2)
    rows = [["Email"]] + [[f"c{i}@example.com"] for i in range(6)]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "c.csv"), campaign=campaign)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    real_commit = service_run._chunk_commit

    def commit_then_cancel(**kwargs):
        result = real_commit(**kwargs)
        import_job_cancel(job=ImportJob.objects.get(pk=job.pk))
        return result

    monkeypatch.setattr(service_run, "_chunk_commit", commit_then_cancel)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.CANCELLED and Lead.objects.count() == job.created_count == 2


def test_undo_removes_created_leads_restores_changed_fields_and_keeps_worked_ones(
    marketer, alice, campaign, django_capture_on_commit_callbacks
):
    lead, job = existing_and_file(campaign, marketer)
    job = run(job, marketer, django_capture_on_commit_callbacks, duplicate_policy=DuplicatePolicy.OVERWRITE)
    assert import_batch_leads(job=job, user=marketer).count() == 2
    report = import_job_undo(job=job, by=marketer)
    lead.refresh_from_db()
    assert (lead.first_name, lead.title, lead.company_name) == ("Ada", "CTO", "Old Co")
    assert not Lead.objects.filter(email="new@example.com").exists()
    assert not lead.activities.filter(kind=ActivityKind.BADGE_SCAN).exists()
    assert report == {"deleted": 1, "restored": 1, "kept": []}
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    with pytest.raises(ApplicationError):
        import_job_undo(job=job, by=marketer)


def test_undo_leaves_a_lead_worked_since_and_says_which(marketer, alice, campaign, django_capture_on_commit_callbacks):
    content = csv_bytes([["Email"], ["w@example.com"], ["u@example.com"]])
    job = import_job_create(by=marketer, upload=upload(content, "w.csv"), campaign=campaign)
    job = run(job, marketer, django_capture_on_commit_callbacks)
    worked = Lead.objects.get(email="w@example.com")
    activity_record(lead=worked, kind=ActivityKind.CALL, by=alice)
    report = import_job_undo(job=job, by=marketer)
    assert list(Lead.objects.values_list("email", flat=True)) == ["w@example.com"]
    assert report["kept"] == [{"lead_id": worked.pk, "email": "w@example.com", "why": "a call was recorded"}]


def test_saved_preset_is_offered_again_for_the_same_headers(marketer, campaign):
    content = csv_bytes([["Mail", "Mystery"], ["a@example.com", "x"]])
    job = import_job_create(by=marketer, upload=upload(content, "a.csv"), campaign=campaign, source="Booth app")
    import_job_configure(job=job, mapping={"0": "email", "1": "notes"})
    mapping_preset_save(by=marketer, job=job, name="Booth app default")
    again = import_job_create(by=marketer, upload=upload(content, "b.csv"), campaign=campaign, source="Booth app")
    assert again.mapping == {"0": "email", "1": "notes"}
    assert MappingPreset.objects.get().name == "Booth app default"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"Email,Name\r\n", "header.csv", "no data rows"),
        (b"%PDF-1.4", "list.xlsx", "PDF"),
        (b"a,b", "list.pdf", "not a CSV"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(marketer, campaign, content, name, message, settings):
    with pytest.raises(ApplicationError, match=message):
        import_job_create(by=marketer, upload=upload(content, name), campaign=campaign)
    assert not ImportJob.objects.exists()
    assert not list((settings.MEDIA_ROOT / "imports").glob("*")) if (settings.MEDIA_ROOT / "imports").exists() else True


def test_file_over_the_size_limit_is_refused(marketer, campaign, settings):
    settings.LEADOPS_IMPORT_MAX_BYTES = 10
    with pytest.raises(ApplicationError, match="limit is 0 MB|limit"):
        import_job_create(by=marketer, upload=upload(b"Email\r\na@example.com\r\n", "big.csv"), campaign=campaign)


def test_encoding_override_changes_the_preview(marketer, campaign):
    content = "Email;Name\r\nz@example.com;Zoë\r\n".encode("cp1252")
    job = import_job_create(by=marketer, upload=upload(content, "de.csv"), campaign=campaign)
    assert (job.encoding, job.delimiter) == ("cp1252", ";")
    assert import_job_preview(job=job).rows[0].row.fields["first_name"] == "Zoë"
    import_job_configure(job=job, encoding="cp437")
    assert import_job_preview(job=job).rows[0].row.fields["first_name"] == "Zoδ"


def test_change_records_exist_for_each_touched_lead(marketer, campaign, django_capture_on_commit_callbacks):
    lead, job = existing_and_file(campaign, marketer)
    run(job, marketer, django_capture_on_commit_callbacks)
    assert sorted(ImportChange.objects.values_list("action", flat=True)) == ["created", "matched"]


def test_an_import_that_keeps_failing_stops_after_its_attempts_with_a_message(marketer, campaign):
    content = csv_bytes([["Email"], ["a@example.com"]])
    job = import_job_create(by=marketer, upload=upload(content, "a.csv"), campaign=campaign)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, attempts=service.MAX_ATTEMPTS)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.FAILED and "stopped after 5 attempts" in job.message
    assert not Lead.objects.exists()


def test_stale_running_imports_are_enqueued_again(marketer, campaign, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    content = csv_bytes([["Email"], ["a@example.com"]])
    job = import_job_create(by=marketer, upload=upload(content, "a.csv"), campaign=campaign)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(minutes=10)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert service.import_jobs_resume_stale() == [job.pk]
        assert service.import_jobs_resume_stale() == []  # its heartbeat was touched
    assert len(callbacks) == 1


def test_new_leads_are_inserted_with_the_score_a_rescore_gives_and_their_score_is_logged(
    marketer, campaign, django_capture_on_commit_callbacks
):
    from scoring.models import ScoreHistory
    from scoring.services import leads_score

    rows = [
        ["Email", "Job Title", "Employees", "Industry", "Rating", "Scan Date/Time"],
        ["vp@acme.example", "VP Sales", "300", "software", "hot", "2026-11-20 10:00"],
        ["student@uni.example", "Student", "2", "", "", ""],
        ["chief@free.example", "Chief of Staff", "11-50", "healthcare", "warm", "not a date"],
    ]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "scored.csv"), campaign=campaign)
    job = run(job, marketer, django_capture_on_commit_callbacks)
    assert job.created_count == 3
    leads = list(Lead.objects.filter(campaign=campaign).order_by("pk"))
    assert [lead.email for lead in leads] == ["vp@acme.example", "student@uni.example", "chief@free.example"]
    assert all(lead.grade and lead.scored_at for lead in leads)
    before = [(lead.score, lead.grade, lead.score_fit, lead.score_engagement) for lead in leads]
    assert leads_score(lead_ids=[lead.pk for lead in leads]) == 0  # a re-score finds nothing to change
    assert before == [
        (lead.score, lead.grade, lead.score_fit, lead.score_engagement)
        for lead in Lead.objects.filter(campaign=campaign).order_by("pk")
    ]
    assert ScoreHistory.objects.filter(lead__in=leads, previous_grade="").count() == 3
    scan = Activity.objects.get(lead=leads[2], kind=ActivityKind.BADGE_SCAN)
    assert scan.payload == {
        "import_job": job.pk,
        "line": 4,
        "campaign": campaign.name,
        "rating": "warm",
        "scanned_at_text": "not a date",
    }


def test_imported_leads_are_scored_at_once_and_a_sales_ready_one_reaches_a_rep(
    marketer, campaign, alice, team_east, django_capture_on_commit_callbacks
):
    from leads.models import AssignmentRule, RuleField, ULDVersion

    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    # Budget and timeframe do not come from badge scans, so this show's definition sets A lower.
    ULDVersion.objects.filter(status="agreed").update(grade_a_min=55)
    rows = [
        ["Email", "First Name", "Company", "Job Title", "Employees", "Industry", "Rating"],
        ["cio@bigco.example", "Vera", "BigCo", "VP Engineering", "5000", "software", "hot"],
        ["intern@tiny.example", "Ian", "Tiny", "Intern", "3", "retail", "cold"],
    ]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "show.csv"), campaign=campaign)
    run(job, marketer, django_capture_on_commit_callbacks)

    hot, cold = Lead.objects.get(email="cio@bigco.example"), Lead.objects.get(email="intern@tiny.example")
    assert hot.scored_at is not None and cold.scored_at is not None
    assert hot.score > cold.score, (hot.score, hot.grade, cold.score)
    assert hot.grade == "A", (hot.score, hot.grade)
    assert cold.stage == Stage.INQUIRY and cold.owner is None
    # Sales-ready: qualified, routed and assigned to a rep in the same run.
    assert (hot.stage, hot.owner) == (Stage.MQL, alice)


def test_imported_new_lead_is_scored_with_its_badge_scan_and_not_left_dirty(
    marketer, campaign, django_capture_on_commit_callbacks
):
    from django.db import connection

    from scoring.models import ScoreDirty

    if connection.vendor != "postgresql":
        pytest.skip("the staged write and the trigger's skip are PostgreSQL's")
    existing = LeadFactory(email="known@old.example")
    ScoreDirty.objects.all().delete()
    rows = [
        ["Email", "Job Title", "Employees", "Industry", "Rating"],
        ["hot@new.example", "Engineer", "40", "software", "hot"],
        ["plain@new.example", "Engineer", "40", "software", ""],
        ["known@old.example", "Engineer", "40", "software", "hot"],
    ]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "dirty.csv"), campaign=campaign)
    job = run(job, marketer, django_capture_on_commit_callbacks)
    assert (job.created_count, job.skipped_count) == (2, 1)
    hot, plain = Lead.objects.get(email="hot@new.example"), Lead.objects.get(email="plain@new.example")
    # Scored in the import's own transaction with the badge scan counted ("rated hot": 25 points)...
    assert hot.score_engagement - plain.score_engagement == 25, (hot.score_engagement, plain.score_engagement)
    # ...so the activity trigger did not mark them for the beat task to score again.
    assert not ScoreDirty.objects.filter(lead__in=[hot, plain]).exists()
    # The lead that was already there got a badge scan but no score here: it is marked, as before.
    assert set(ScoreDirty.objects.values_list("lead_id", flat=True)) == {existing.pk}
    # The skip ends with the import's statement: a later activity in this transaction marks its lead.
    activity_record(lead=plain, by=marketer, kind=ActivityKind.NOTE, payload={"text": "called back"})
    assert ScoreDirty.objects.filter(lead=plain).exists()


@pytest.mark.parametrize(("pause_ms", "pauses"), [(0, []), (250, [0.25, 0.25, 0.25])])
def test_chunk_pause_waits_between_committed_chunks_only_when_configured(
    marketer, campaign, monkeypatch, settings, pause_ms, pauses
):
    settings.LEADOPS_IMPORT_CHUNK_PAUSE_MS = pause_ms
    monkeypatch.setattr(service_run, "CHUNK_ROWS", 2)
    slept = []
    monkeypatch.setattr(service_run.time, "sleep", slept.append)
    rows = [["Email"]] + [[f"p{i}@example.com"] for i in range(6)]
    job = import_job_create(by=marketer, upload=upload(csv_bytes(rows), "p.csv"), campaign=campaign)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and job.created_count == 6
    assert slept == pauses  # one pause after each of the three chunks, none when unset


def test_uploading_and_previewing_a_large_workbook_leaves_its_shared_strings_to_the_worker(
    marketer, campaign, monkeypatch
):
    content = many_strings_workbook(300_000)
    reads = count_part_reads(monkeypatch)
    job = import_job_create(by=marketer, upload=upload(content, "big.xlsx"), campaign=campaign)
    preview = import_job_preview(job=job)
    table_size = 9_089_019  # unpacked bytes of xl/sharedStrings.xml
    assert 0 < reads["xl/sharedStrings.xml"] < table_size / 4
    assert job.headers == ["Email", "First name", "Company"]
    # Too large to count in a request: the first rows are shown, the totals are left to the import.
    assert preview.total is None
    assert [item.line for item in preview.rows] == list(range(2, 22))
    assert preview.rows[0].cells == ["lead0@example.com", "Name 1", "Name 2"]


def test_a_small_file_is_still_counted_whole_in_the_preview(marketer, campaign):
    job = import_job_create(by=marketer, upload=upload(many_strings_workbook(3 * 40), "small.xlsx"), campaign=campaign)
    preview = import_job_preview(job=job)
    assert (preview.total, preview.new, len(preview.rows)) == (39, 39, 20)
