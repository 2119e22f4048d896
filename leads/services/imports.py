"""Importing a list of leads: upload, configure, preview, the chunked resumable run, cancel and undo.

The run reads the stored file in chunks; each chunk is one transaction that dedupes with one
`email IN (...)` query, inserts new leads with their stage-log entries (`leads_bulk_create`), updates
matches in bulk, appends one badge-scan activity per lead and records what it did, then advances the
job's checkpoint (`last_line`) under a row lock. A worker killed mid-run leaves the checkpoint at the
last committed chunk; the rerun skips the rows up to it, so no row is lost or imported twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.imports.cleaning import CleanRow, clean_row
from leads.imports.errors import FileRefused
from leads.imports.mapping import TARGETS, headers_signature, mapping_problems, propose_mapping
from leads.imports.readers import ReadSpec
from leads.imports.table import Table, table_inspect, table_rows
from leads.models import (
    Activity,
    ActivityKind,
    Campaign,
    CampaignKind,
    DuplicatePolicy,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportRowError,
    ImportStatus,
    Lead,
    MappingPreset,
    SizeBand,
    SourceChannel,
    StageChange,
)
from leads.models.imports import IMPORT_TRANSITIONS
from leads.services.lifecycle import STAGING_LEAD_COLUMNS, leads_bulk_create, leads_insert_from_staging
from scoring.services import leads_score

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")
CHUNK_ROWS = 5000
PREVIEW_ROWS = 20
MAX_ATTEMPTS = 5
# Fields an import may write on an existing lead (fill or overwrite): what it writes on a new lead, less
# the identity it matched on and the extra data. Never stage, owner or score.
UPDATABLE_FIELDS = tuple(column for column in STAGING_LEAD_COLUMNS if column not in {"email", "extra"})


def import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def import_job_path(job: ImportJob) -> Path:
    return import_dir() / job.stored_name


def _max_unpacked() -> int:
    return 20 * settings.LEADOPS_IMPORT_MAX_BYTES


# --- Upload and configuration -------------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *, by, name: str, starts_on: dt.date | None = None, ends_on: dt.date | None = None, cost=0
) -> Campaign:
    """Create a trade-show campaign for an import (name unique, dates in order, cost not negative)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the campaign a name (the show's name).")
    if Campaign.objects.filter(name=name).exists():
        raise ApplicationError(f"A campaign named {name!r} already exists; pick it from the list.")
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError("The show cannot end before it starts.")
    if cost is not None and cost < 0:
        raise ApplicationError("The cost cannot be negative.")
    return Campaign.objects.create(
        name=name, kind=CampaignKind.TRADE_SHOW, starts_on=starts_on, ends_on=ends_on, cost=cost or 0, owner=by
    )


def import_job_create(*, by, upload, campaign: Campaign | None, source: str = "") -> ImportJob:
    """Store an uploaded file under a generated name, detect how to read it, and propose a mapping."""
    name = Path(getattr(upload, "name", "") or "upload").name[:255]
    limit = settings.LEADOPS_IMPORT_MAX_BYTES
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ApplicationError(f"{name!r} is not a CSV, TSV, TXT or XLSX file; export the list in one of those.")
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(f"{name!r} is {upload.size / 1e6:,.1f} MB; the limit is {limit / 1e6:,.0f} MB.")
    if upload.size == 0:
        raise ApplicationError(f"{name!r} is empty: there is no header row and no data.")
    extension = Path(name).suffix.lower()
    stored_name = f"{uuid.uuid4().hex}{extension}"
    path = import_dir() / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > limit:
                    raise ApplicationError(f"{name!r} is larger than the {limit / 1e6:,.0f} MB limit.")
                out.write(chunk)
        table = table_inspect(path, filename=name, max_unpacked_bytes=_max_unpacked())
        if next(table_rows(path, table), None) is None:
            raise ApplicationError(
                f"{name!r} has a header row (line {table.header_line}) but no data rows below it.", code="empty"
            )
    except ApplicationError:
        path.unlink(missing_ok=True)
        raise
    preset = mapping_preset_find(headers=table.headers, source=source)
    job = ImportJob(
        created_by=by,
        campaign=campaign,
        source=source.strip()[:100],
        original_name=name,
        stored_name=stored_name,
        size_bytes=size,
    )
    _apply_table(job, table)
    if preset is not None:
        job.mapping, job.keep_extra = dict(preset.mapping), preset.keep_extra
    job.save()
    return job


def _apply_table(job: ImportJob, table: Table) -> None:
    job.kind = table.spec.kind
    job.encoding = table.spec.encoding if table.spec.kind == "text" else ""
    job.bom_length = table.spec.bom_length
    job.delimiter = table.spec.delimiter if table.spec.kind == "text" else ""
    job.sheet = table.spec.sheet
    job.sheets = table.sheets
    job.encoding_detected_by = table.encoding_detected_by
    job.header_line = table.header_line
    if table.headers != job.headers:
        job.headers = table.headers
        job.mapping = propose_mapping(table.headers, keep_extra=job.keep_extra)


def job_table(job: ImportJob) -> Table:
    """Return how to read the job's file, as configured."""
    spec = ReadSpec(
        kind=job.kind,
        encoding=job.encoding or "utf-8",
        bom_length=job.bom_length,
        delimiter=job.delimiter or ",",
        sheet=job.sheet,
    )
    return Table(spec=spec, sheets=list(job.sheets), header_line=job.header_line, headers=list(job.headers))


def _require_draft(job: ImportJob) -> None:
    if job.status != ImportStatus.DRAFT:
        raise ApplicationError("This import has already started; its settings can no longer change.", code="conflict")


def import_job_configure(
    *,
    job: ImportJob,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_line: int | None = None,
    mapping: dict[str, str] | None = None,
    keep_extra: bool | None = None,
    duplicate_policy: str | None = None,
    campaign: Campaign | None = None,
) -> ImportJob:
    """Apply the user's overrides (encoding, delimiter, sheet, header row, mapping, policy) to a draft."""
    _require_draft(job)
    if duplicate_policy is not None:
        if duplicate_policy not in DuplicatePolicy.values:
            raise ApplicationError("Choose skip, fill empty fields, or overwrite for duplicates.")
        job.duplicate_policy = duplicate_policy
    if keep_extra is not None:
        job.keep_extra = keep_extra
    if campaign is not None:
        job.campaign = campaign
    headers_before = list(job.headers)
    reading_changed = (
        (encoding and encoding != job.encoding)
        or (delimiter and delimiter != job.delimiter)
        or (sheet and sheet != job.sheet)
        or (header_line and header_line != job.header_line)
    )
    if reading_changed:
        new_sheet = sheet if sheet and sheet != job.sheet else None
        table = table_inspect(
            import_job_path(job),
            filename=job.original_name,
            max_unpacked_bytes=_max_unpacked(),
            encoding=encoding
            or (job.encoding if job.kind == "text" and job.encoding_detected_by == "chosen" else None),
            delimiter=delimiter or job.delimiter or None,
            sheet=sheet or job.sheet or None,
            # A new sheet has its own header row; detect it again.
            header_line=None if new_sheet else (header_line or job.header_line),
        )
        _apply_table(job, table)
        if encoding and encoding != job.encoding:
            job.encoding = encoding
        if encoding:
            job.encoding_detected_by = "chosen"
    # A mapping chosen for other headers (the sheet or header row just changed) does not apply.
    if mapping is not None and job.headers == headers_before and len(mapping) == len(job.headers):
        problems = [p for p in mapping_problems(mapping, len(job.headers)) if "No column is mapped" not in p]
        if problems:
            raise ApplicationError(" ".join(problems))
        job.mapping = mapping
    if keep_extra is False:
        job.mapping = {k: ("ignore" if v == "extra" else v) for k, v in job.mapping.items()}
    job.save()
    return job


def mapping_preset_find(*, headers: list[str], source: str = "") -> MappingPreset | None:
    """Return the newest preset saved for these headers, preferring one from the same source."""
    presets = MappingPreset.objects.filter(signature=headers_signature(headers))
    return presets.filter(source=source.strip()).first() or presets.first()


@transaction.atomic
def mapping_preset_save(*, by, job: ImportJob, name: str) -> MappingPreset:
    """Save the job's mapping under a name for its source (replacing a preset of the same name)."""
    name = (name or "").strip()[:100]
    if not name:
        raise ApplicationError("Give the mapping preset a name.")
    preset, _ = MappingPreset.objects.update_or_create(
        source=job.source,
        name=name,
        defaults={
            "signature": headers_signature(job.headers),
            "headers": job.headers,
            "mapping": job.mapping,
            "keep_extra": job.keep_extra,
            "created_by": by,
            "created_at": timezone.now(),
        },
    )
    return preset


# --- Preview ------------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    cells: list[str]
    row: CleanRow
    status: str  # "new", "duplicate in file", "matches existing", "error"


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    total: int = 0
    new: int = 0
    in_file_duplicates: int = 0
    existing_matches: int = 0
    errors: int = 0


def import_job_preview(*, job: ImportJob, sample: int = PREVIEW_ROWS) -> Preview:
    """Read the whole file as the run will (without writing) and return the first rows and the totals."""
    preview = Preview()
    table = job_table(job)
    mapping = _int_mapping(job)
    seen: set[str] = set()
    for chunk in _chunks(table_rows(import_job_path(job), table)):
        cleaned = [_clean(job, mapping, line, cells) for line, cells in chunk]
        emails = {row.email for row in cleaned if not row.rejected and row.email not in seen}
        existing = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True)) if emails else set()
        for (line, cells), row in zip(chunk, cleaned, strict=True):
            preview.total += 1
            if row.rejected:
                status = "error"
                preview.errors += 1
            elif row.email in seen:
                status = "duplicate in file"
                preview.in_file_duplicates += 1
            elif row.email in existing:
                status = "matches existing"
                preview.existing_matches += 1
            else:
                status = "new"
                preview.new += 1
            if not row.rejected:
                seen.add(row.email)
            if len(preview.rows) < sample:
                preview.rows.append(PreviewRow(line=line, cells=cells, row=row, status=status))
    return preview


def _int_mapping(job: ImportJob) -> dict[int, str]:
    return {int(key): target for key, target in job.mapping.items() if target in TARGETS}


def _clean(job: ImportJob, mapping: dict[int, str], line: int, cells: list[str]) -> CleanRow:
    return clean_row(line=line, cells=cells, mapping=mapping, headers=job.headers, keep_extra=job.keep_extra)


def _chunks(rows: Iterable, size: int | None = None) -> Iterator[list]:
    iterator = iter(rows)
    size = size or CHUNK_ROWS
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- Start, run, cancel ---------------------------------------------------------------------------


def _move(job_id: int, *, from_statuses: Iterable[str], to: str, **changes: Any) -> bool:
    """Move a job between statuses with a conditional update; return whether this call moved it."""
    from_statuses = [s for s in from_statuses if to in IMPORT_TRANSITIONS[s] or s == to]
    return ImportJob.objects.filter(pk=job_id, status__in=from_statuses).update(status=to, **changes) == 1


def import_job_start(*, job: ImportJob, by) -> ImportJob:
    """Queue a configured draft for the background run (enqueued once the transaction commits)."""
    problems = mapping_problems(job.mapping, len(job.headers))
    if problems:
        raise ApplicationError(" ".join(problems))
    if job.campaign_id is None:
        raise ApplicationError("Pick or create the campaign (the show) these leads came from.")
    with transaction.atomic():
        if not _move(job.pk, from_statuses=[ImportStatus.DRAFT], to=ImportStatus.QUEUED):
            raise ApplicationError("This import has already been started.", code="conflict")
        transaction.on_commit(lambda: _enqueue(job.pk))
    job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    from leads.tasks import import_job_run_task

    import_job_run_task.delay(job_id)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Ask a queued or running import to stop; rows already committed stay (undo removes them)."""
    if job.status == ImportStatus.QUEUED and _move(
        job.pk, from_statuses=[ImportStatus.QUEUED], to=ImportStatus.CANCELLED, finished_at=timezone.now()
    ):
        job.refresh_from_db()
        return job
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise ApplicationError("Only a queued or running import can be cancelled.", code="conflict")
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run (or resume) an import from its checkpoint to the end of the file. Safe to call twice."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
        status=ImportStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now
    )
    if not claimed:
        return ImportJob.objects.filter(pk=job_id).first()
    ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    job = ImportJob.objects.select_related("campaign", "created_by").get(pk=job_id)
    if job.attempts > MAX_ATTEMPTS:
        # Something other than the file keeps failing (the database, the disk): stop rather than loop.
        _move(
            job_id,
            from_statuses=[ImportStatus.RUNNING],
            to=ImportStatus.FAILED,
            finished_at=timezone.now(),
            message=f"The import stopped after {MAX_ATTEMPTS} attempts at line {job.last_line}; the rows before it "
            "are imported. Undo it or contact an administrator.",
        )
        return ImportJob.objects.get(pk=job_id)
    mapping = _int_mapping(job)
    rows_seen = job.rows_done
    try:
        rows = table_rows(import_job_path(job), job_table(job))
        pending = (item for item in rows if item[0] > job.last_line)
        for chunk in _chunks(pending):
            if ImportJob.objects.filter(pk=job_id, cancel_requested=True).exists():
                _move(
                    job_id, from_statuses=[ImportStatus.RUNNING], to=ImportStatus.CANCELLED, finished_at=timezone.now()
                )
                return ImportJob.objects.get(pk=job_id)
            cleaned = [_clean(job, mapping, line, cells) for line, cells in chunk]
            touched = _chunk_commit_with_retry(job=job, chunk=chunk, cleaned=cleaned)
            if touched is None:
                logger.info("import %s: another run advanced the checkpoint; this one stops", job_id)
                return ImportJob.objects.get(pk=job_id)
            rows_seen = job.rows_done
            if touched:
                # Scored at once (and, when sales-ready, qualified and routed) after the chunk commits.
                leads_score(lead_ids=touched)
    except FileRefused as exc:
        _move(
            job_id,
            from_statuses=[ImportStatus.RUNNING],
            to=ImportStatus.FAILED,
            message=exc.message,
            finished_at=timezone.now(),
        )
        return ImportJob.objects.get(pk=job_id)
    _move(
        job_id,
        from_statuses=[ImportStatus.RUNNING],
        to=ImportStatus.DONE,
        total_rows=rows_seen,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return ImportJob.objects.get(pk=job_id)


def _chunk_commit_with_retry(*, job: ImportJob, chunk: list, cleaned: list[CleanRow]) -> list[int] | None:
    for attempt in range(3):
        try:
            return _chunk_commit(job=job, chunk=chunk, cleaned=cleaned)
        except IntegrityError:
            # Someone created one of these emails between our lookup and our insert: look again.
            if attempt == 2:
                raise
    return None


@dataclass
class _Written:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    skipped: int = 0
    duplicates: int = 0  # rows whose email an earlier chunk of this job already imported


@transaction.atomic
def _chunk_commit(*, job: ImportJob, chunk: list, cleaned: list[CleanRow]) -> list[int] | None:
    """Commit one chunk and advance the checkpoint; return the touched lead ids, None if already done."""
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != ImportStatus.RUNNING or locked.last_line != job.last_line:
        return None
    if connection.vendor == "postgresql":
        # The checkpoint commits with the rows it counts, so a commit lost in a crash loses both and the
        # rerun redoes that chunk: consistent without waiting for the WAL flush of every chunk.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    now = timezone.now()
    errors: list[ImportRowError] = []
    first: dict[str, CleanRow] = {}
    duplicates = 0
    for (line, cells), row in zip(chunk, cleaned, strict=True):
        if row.rejected:
            errors.append(ImportRowError(job_id=job.pk, line=line, reason=row.reason(), values=cells))
        elif row.email in first:
            duplicates += 1
        else:
            first[row.email] = row
    writer = _write_pg if connection.vendor == "postgresql" else _write_orm
    written = writer(job=job, first=first, now=now) if first else _Written()
    ImportRowError.objects.bulk_create(errors, batch_size=1000)
    ImportJob.objects.filter(pk=job.pk).update(
        last_line=chunk[-1][0],
        rows_done=F("rows_done") + len(chunk),
        created_count=F("created_count") + len(written.created),
        updated_count=F("updated_count") + len(written.updated),
        skipped_count=F("skipped_count") + written.skipped,
        duplicate_count=F("duplicate_count") + duplicates + written.duplicates,
        error_count=F("error_count") + len(errors),
        heartbeat_at=now,
    )
    job.last_line = chunk[-1][0]
    job.rows_done += len(chunk)
    return written.created + written.updated


def _apply_policies(
    *, job: ImportJob, matched: dict[int, CleanRow], now: dt.datetime
) -> tuple[list[Lead], list[ImportChange]]:
    """Apply fill/overwrite to the matched leads (locked in pk order); return the changed leads and records."""
    if job.duplicate_policy == DuplicatePolicy.SKIP or not matched:
        return [], []
    changed: list[Lead] = []
    records: list[ImportChange] = []
    fields: set[str] = set()
    for lead in Lead.objects.filter(pk__in=list(matched)).order_by("pk").select_for_update():
        row = matched[lead.pk]
        before, after = _apply_policy(job, lead, row)
        if after:
            lead.updated_at = now
            changed.append(lead)
            fields.update(after)
            records.append(
                ImportChange(
                    job_id=job.pk,
                    lead_id=lead.pk,
                    action=ImportChangeAction.UPDATED,
                    line=row.line,
                    before=before,
                    after=after,
                )
            )
    if changed:
        Lead.objects.bulk_update(changed, sorted(fields | {"updated_at"}), batch_size=1000)
    return changed, records


def _write_orm(*, job: ImportJob, first: dict[str, CleanRow], now: dt.datetime) -> _Written:
    """Write a chunk through the ORM (any database): one email IN query, bulk inserts and updates."""
    written = _Written()
    existing = dict(Lead.objects.filter(email__in=list(first)).values_list("email", "pk"))
    earlier = set(
        ImportChange.objects.filter(job_id=job.pk, lead_id__in=list(existing.values())).values_list(
            "lead_id", flat=True
        )
    )
    new_rows = [row for email, row in first.items() if email not in existing]
    matched = {existing[e]: row for e, row in first.items() if e in existing and existing[e] not in earlier}
    written.duplicates = len(first) - len(new_rows) - len(matched)
    changed, changes = _apply_policies(job=job, matched=matched, now=now)
    written.updated = [lead.pk for lead in changed]
    written.skipped = len(matched) - len(changed)
    changed_ids = set(written.updated)
    changes += [
        ImportChange(job_id=job.pk, lead_id=lead_id, action=ImportChangeAction.MATCHED, line=row.line)
        for lead_id, row in matched.items()
        if lead_id not in changed_ids
    ]
    scans = list(matched.items())
    new_leads = [_new_lead(job, row, now) for row in new_rows]
    created = leads_bulk_create(leads=new_leads, by=job.created_by, reason=_reason(job)) if new_leads else []
    for lead, row in zip(created, new_rows, strict=True):
        changes.append(ImportChange(job_id=job.pk, lead_id=lead.pk, action=ImportChangeAction.CREATED, line=row.line))
        scans.append((lead.pk, row))
    written.created = [lead.pk for lead in created]
    Activity.objects.bulk_create([_badge_scan(job, lead_id, row, now) for lead_id, row in scans], batch_size=1000)
    ImportChange.objects.bulk_create(changes, batch_size=1000)
    return written


_STAGING = "_leadops_import_rows"
_STAGING_COLUMNS = ("line", "lead_id", "action", *STAGING_LEAD_COLUMNS, "payload", "occurred_at")


def _write_pg(*, job: ImportJob, first: dict[str, CleanRow], now: dt.datetime) -> _Written:
    """Write a chunk on PostgreSQL: COPY it into a temporary table, then insert leads, their stage log,
    badge scans and change records with one SQL statement each (no model instance per row)."""
    written = _Written()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.email, EXISTS (SELECT 1 FROM leads_importchange c WHERE c.job_id = %s AND c.lead_id = l.id)"
            " FROM leads_lead l WHERE l.email = ANY(%s)",
            [job.pk, list(first)],
        )
        existing = {email: (lead_id, earlier) for lead_id, email, earlier in cursor.fetchall()}
        matched = {lead_id: first[email] for email, (lead_id, earlier) in existing.items() if not earlier}
        written.duplicates = sum(1 for _, earlier in existing.values() if earlier)
        changed, changes = _apply_policies(job=job, matched=matched, now=now)
        written.updated = [lead.pk for lead in changed]
        written.skipped = len(matched) - len(changed)
        changed_ids = set(written.updated)
        ImportChange.objects.bulk_create(changes, batch_size=1000)
        lead_of = {email: lead_id for email, (lead_id, earlier) in existing.items() if not earlier}
        buffer = io.StringIO()
        for email, row in first.items():
            if email in existing and email not in lead_of:
                continue  # imported by an earlier chunk of this job
            lead_id = lead_of.get(email)
            action = "created" if lead_id is None else ("updated" if lead_id in changed_ids else "matched")
            buffer.write(_copy_line(job, row, lead_id, action, now))
        buffer.seek(0)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (line integer, lead_id bigint, action text, "
            "email text, first_name text, last_name text, phone text, title text, company_name text, website text, "
            "industry text, employees integer, size_band text, country text, region text, extra jsonb, "
            "payload jsonb, occurred_at timestamp) ON COMMIT DELETE ROWS"
        )
        # Emptied on commit; also here, for a chunk that runs inside a caller's longer transaction.
        cursor.execute("TRUNCATE _leadops_import_rows")
        cursor.copy_expert(f"COPY {_STAGING} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN", buffer)
        created = leads_insert_from_staging(
            cursor=cursor,
            table=_STAGING,
            source_channel=SourceChannel.EVENT,
            campaign_id=job.campaign_id,
            at=now,
            by=job.created_by,
            reason=_reason(job),
        )
        written.created = [lead_id for lead_id, _ in created]
        if created:
            cursor.execute(
                "UPDATE _leadops_import_rows s SET lead_id = l.id FROM leads_lead l "
                "WHERE s.lead_id IS NULL AND l.email = s.email"
            )
        cursor.execute(
            "INSERT INTO leads_activity (lead_id, kind, occurred_at, recorded_by_id, source, payload, created_at) "
            "SELECT lead_id, %s, COALESCE(occurred_at AT TIME ZONE %s, %s), %s, 'import', payload, %s "
            "FROM _leadops_import_rows ORDER BY line",
            [ActivityKind.BADGE_SCAN, settings.TIME_ZONE, now, job.created_by_id, now],
        )
        cursor.execute(
            "INSERT INTO leads_importchange (job_id, lead_id, action, line, before, after) "
            "SELECT %s, lead_id, action, line, '{}'::jsonb, '{}'::jsonb FROM _leadops_import_rows "
            "WHERE action <> 'updated'",
            [job.pk],
        )
    return written


def _copy_text(value: Any) -> str:
    """Escape a value for COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_line(job: ImportJob, row: CleanRow, lead_id: int | None, action: str, now: dt.datetime) -> str:
    values = _lead_values(job, row)
    occurred = row.occurred_at
    if occurred is not None and timezone.is_aware(occurred):
        # Staged as local wall time; the INSERT places naive times in TIME_ZONE, as make_aware would.
        occurred = timezone.make_naive(occurred)
    extra = row.extra if job.keep_extra else {}
    cells = [
        row.line,
        lead_id,
        action,
        row.email,
        *(values.get(name, "") for name in STAGING_LEAD_COLUMNS[1:8]),
        values.get("employees"),
        values.get("size_band", ""),
        values.get("country", ""),
        values.get("region", ""),
        json.dumps(extra, ensure_ascii=False) if extra else "{}",
        json.dumps(_scan_payload(job, row), ensure_ascii=False),
        occurred.isoformat() if occurred else None,
    ]
    return "\t".join(_copy_text(cell) for cell in cells) + "\n"


def _reason(job: ImportJob) -> str:
    return f"Imported from {job.original_name} (import {job.pk})"


def _lead_values(job: ImportJob, row: CleanRow) -> dict[str, Any]:
    values = {name: value for name, value in row.fields.items() if name != "size_band_basis"}
    if "size_band_basis" in row.fields:
        values["size_band"] = _size_band(row.fields["size_band_basis"])
    elif values.get("employees") is not None:
        values["size_band"] = _size_band(values["employees"])
    return values


@functools.lru_cache(maxsize=1024)
def _size_band(employees: int) -> str:
    return SizeBand.for_employees(employees)


def _new_lead(job: ImportJob, row: CleanRow, now: dt.datetime) -> Lead:
    return Lead(
        email=row.email,
        source_channel=SourceChannel.EVENT,
        campaign_id=job.campaign_id,
        created_at=now,
        extra=dict(row.extra) if job.keep_extra else {},
        **_lead_values(job, row),
    )


def _apply_policy(job: ImportJob, lead: Lead, row: CleanRow) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change `lead` per the duplicate policy; return (before, after) of the fields that changed."""
    if job.duplicate_policy == DuplicatePolicy.SKIP:
        return {}, {}
    overwrite = job.duplicate_policy == DuplicatePolicy.OVERWRITE
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in _lead_values(job, row).items():
        if name not in UPDATABLE_FIELDS or value in ("", None):
            continue
        current = getattr(lead, name)
        if current == value or (not overwrite and current not in ("", None)):
            continue
        before[name], after[name] = current, value
        setattr(lead, name, value)
    if job.keep_extra and row.extra:
        merged = dict(lead.extra or {})
        for key, value in row.extra.items():
            if overwrite or key not in merged:
                merged[key] = value
        if merged != (lead.extra or {}):
            before["extra"], after["extra"] = lead.extra, merged
            lead.extra = merged
    return before, after


def _badge_scan(job: ImportJob, lead_id: int, row: CleanRow, now: dt.datetime) -> Activity:
    occurred = row.occurred_at
    if occurred is not None and timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred)
    return Activity(
        lead_id=lead_id,
        kind=ActivityKind.BADGE_SCAN,
        occurred_at=occurred or now,
        recorded_by=job.created_by,
        source="import",
        payload=_scan_payload(job, row),
        created_at=now,
    )


def _scan_payload(job: ImportJob, row: CleanRow) -> dict[str, Any]:
    payload: dict[str, Any] = {"import_job": job.pk, "line": row.line, **row.scan}
    if job.campaign is not None:
        payload["campaign"] = job.campaign.name
    return payload


def import_jobs_resume_stale(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> list[int]:
    """Re-enqueue running imports whose worker went silent (killed mid-run); return their ids."""
    cutoff = timezone.now() - older_than
    stale = list(
        ImportJob.objects.filter(status=ImportStatus.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stale:
        # Touch the heartbeat so the next sweep does not enqueue it again while this run starts.
        ImportJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        transaction.on_commit(lambda job_id=job_id: _enqueue(job_id))
    return stale


# --- Undo ---------------------------------------------------------------------------------------


def import_job_undo(*, job: ImportJob, by) -> dict[str, Any]:
    """Remove the leads the import created and restore the fields it changed, except on leads worked since.

    A lead counts as worked when someone recorded an activity on it, moved its stage, or edited a field
    the import wrote, after the import. Those are left alone and listed in the report.
    """
    if job.status not in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
        raise ApplicationError("Only a finished, failed or cancelled import can be undone.", code="conflict")
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
            raise ApplicationError("This import is already undone.", code="conflict")
        report: dict[str, Any] = {"deleted": 0, "restored": 0, "kept": []}
        change_ids = list(
            ImportChange.objects.filter(job=job, lead__isnull=False).order_by("lead_id").values_list("pk", flat=True)
        )
        # In batches: a batch's leads are locked in pk order, and no query carries more ids than SQLite allows.
        for batch in _chunks(change_ids, 5000):
            _undo_batch(job, list(ImportChange.objects.filter(pk__in=batch).order_by("lead_id")), report)
        _move(
            job.pk, from_statuses=[locked.status], to=ImportStatus.UNDONE, undone_at=timezone.now(), undo_report=report
        )
    return report


def _undo_batch(job: ImportJob, changes: list[ImportChange], report: dict[str, Any]) -> None:
    leads = {
        lead.pk: lead
        for lead in Lead.objects.filter(pk__in=[c.lead_id for c in changes]).order_by("pk").select_for_update()
    }
    worked = _worked_since(job, changes, leads)
    deleted: list[int] = []
    untouched: list[int] = []
    to_restore: list[Lead] = []
    fields: set[str] = set()
    now = timezone.now()
    for change in changes:
        lead = leads.get(change.lead_id)
        if lead is None:
            continue
        if lead.pk in worked:
            report["kept"].append({"lead_id": lead.pk, "email": lead.email, "why": worked[lead.pk]})
            continue
        if change.action == ImportChangeAction.CREATED:
            deleted.append(lead.pk)
            continue
        untouched.append(lead.pk)
        if change.action == ImportChangeAction.UPDATED:
            for name, value in change.before.items():
                setattr(lead, name, value)
                fields.add(name)
            lead.updated_at = now
            to_restore.append(lead)
    Activity.objects.filter(
        lead_id__in=untouched, kind=ActivityKind.BADGE_SCAN, source="import", payload__import_job=job.pk
    ).delete()
    if to_restore:
        Lead.objects.bulk_update(to_restore, sorted(fields | {"updated_at"}), batch_size=1000)
    for batch in _chunks(deleted, 1000):
        Lead.objects.filter(pk__in=batch).delete()
    report["deleted"] += len(deleted)
    report["restored"] += len(to_restore)


def _worked_since(job: ImportJob, changes: list[ImportChange], leads: dict[int, Lead]) -> dict[int, str]:
    """Return {lead id: why} for the batch's leads someone worked on after the import."""
    since = job.started_at or job.created_at
    lead_ids = list(leads)
    worked: dict[int, str] = {}
    activities = (
        Activity.objects.filter(lead_id__in=lead_ids, created_at__gte=since)
        .exclude(source="import", payload__import_job=job.pk)
        .values_list("lead_id", "kind")
    )
    for lead_id, kind in activities:
        worked.setdefault(lead_id, f"a {ActivityKind(kind).label.lower()} was recorded")
    moves = StageChange.objects.filter(lead_id__in=lead_ids, changed_at__gte=since, changed_by__isnull=False).exclude(
        from_stage=""
    )
    for lead_id, to_stage in moves.values_list("lead_id", "to_stage"):
        worked.setdefault(lead_id, f"it was moved to {to_stage}")
    for change in changes:
        lead = leads.get(change.lead_id)
        if lead is None or change.action != ImportChangeAction.UPDATED:
            continue
        for name, value in change.after.items():
            if getattr(lead, name) != value:
                worked.setdefault(lead.pk, f"its {name.replace('_', ' ')} was edited")
    return worked
