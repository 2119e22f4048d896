"""Writing a chunk on PostgreSQL: COPY it into a temporary table, then one SQL statement per table.

The new leads are staged in a copy of the lead table, scored there (after their badge scans are in),
and inserted once with their final score: an UPDATE of a fresh lead would rewrite every one of the lead
table's indexes a second time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.imports.cleaning import CleanRow
from leads.models import ActivityKind, ImportChange, ImportJob, SourceChannel
from leads.selectors_uld import uld_active
from leads.services.lifecycle import (
    NEW_LEADS_TABLE,
    STAGING_LEAD_COLUMNS,
    lead_ids_reserve,
    leads_insert_staged,
    leads_stage_new,
)
from scoring.services import dirty_marks_skip, leads_mark_dirty_from, leads_score_staged

from .merge import Written, apply_policies, size_band, stage_reason

STAGING_TABLE = "_leadops_import_rows"
_SCAN_COLUMNS = ("rating", "notes", "badge_id", "scanned_at_text")
_TEXT_COLUMNS = ("action", *(c for c in STAGING_LEAD_COLUMNS if c not in {"employees", "extra"}))
_COLUMNS = ("line", "lead_id", "action", *STAGING_LEAD_COLUMNS, *_SCAN_COLUMNS, "occurred_at")
_CREATE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (line integer, lead_id bigint, action text, "
    "email text, first_name text, last_name text, phone text, title text, company_name text, website text, "
    "industry text, employees integer, size_band text, country text, region text, extra jsonb, "
    "rating text, notes text, badge_id text, scanned_at_text text, occurred_at timestamp) ON COMMIT DELETE ROWS"
)
# CSV, not COPY's text format: the csv module writes it in C. Empty unquoted cells are NULL in CSV,
# so the text columns say they never are.
_COPY = (
    f"COPY {STAGING_TABLE} ({', '.join(_COLUMNS)}) FROM STDIN "
    f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(_TEXT_COLUMNS)}))"
)


def write_pg(*, job: ImportJob, first: dict[str, CleanRow], now: dt.datetime) -> Written:
    """Write a chunk's first occurrence of each email: dedupe against the table, merge, insert, score."""
    written = Written(created_scored=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.email, EXISTS (SELECT 1 FROM leads_importchange c WHERE c.job_id = %s AND c.lead_id = l.id)"
            " FROM leads_lead l WHERE l.email = ANY(%s)",
            [job.pk, list(first)],
        )
        existing = {email: (lead_id, earlier) for lead_id, email, earlier in cursor.fetchall()}
        matched = {lead_id: first[email] for email, (lead_id, earlier) in existing.items() if not earlier}
        written.duplicates = sum(1 for _, earlier in existing.values() if earlier)
        changed, changes = apply_policies(job=job, matched=matched, now=now)
        written.updated = [lead.pk for lead in changed]
        written.skipped = len(matched) - len(changed)
        ImportChange.objects.bulk_create(changes, batch_size=1000)
        new_ids = iter(lead_ids_reserve(cursor=cursor, count=len(first) - len(existing)))
        buffer = io.StringIO()
        out = csv.writer(buffer)
        changed_ids = set(written.updated)
        keep_extra = job.keep_extra
        for email, row in first.items():
            if email in existing:
                lead_id, earlier = existing[email]
                if earlier:
                    continue  # imported by an earlier chunk of this job
                action = "updated" if lead_id in changed_ids else "matched"
            else:
                lead_id, action = next(new_ids), "created"
                written.created.append(lead_id)
            out.writerow(_copy_row(row, lead_id, action, keep_extra))
        buffer.seek(0)
        cursor.execute(_CREATE)
        # Emptied on commit; also here, for a chunk that runs inside a caller's longer transaction.
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
        cursor.copy_expert(_COPY, buffer)
        if written.created:
            leads_stage_new(
                cursor=cursor,
                table=STAGING_TABLE,
                source_channel=SourceChannel.EVENT,
                campaign_id=job.campaign_id,
                at=now,
            )
        # The new leads are scored below, in this transaction, with these badge scans counted: the
        # activity trigger's dirty mark would only have the beat task score them again. The leads that
        # were already in the table are marked here instead, as the trigger would have done (they are
        # scored after the commit only when the import changed them). With no definition in force
        # nothing scores the new leads here, so the trigger marks them as usual.
        scored_here = bool(written.created) and uld_active() is not None
        if scored_here:
            dirty_marks_skip(cursor=cursor, skip=True)
        cursor.execute(
            "INSERT INTO leads_activity (lead_id, kind, occurred_at, recorded_by_id, source, payload, created_at) "  # noqa: S608 - constant table names
            "SELECT lead_id, %(kind)s, COALESCE(occurred_at AT TIME ZONE %(tz)s, %(now)s), %(by)s, 'import', "
            "jsonb_strip_nulls(jsonb_build_object('import_job', %(job)s::bigint, 'line', line, "
            "'campaign', %(campaign)s::text, 'rating', rating, 'notes', notes, 'badge_id', badge_id, "
            "'scanned_at_text', scanned_at_text)), %(now)s "
            f"FROM {STAGING_TABLE} ORDER BY line",
            {
                "kind": ActivityKind.BADGE_SCAN,
                "tz": settings.TIME_ZONE,
                "now": now,
                "by": job.created_by_id,
                "job": job.pk,
                "campaign": job.campaign.name if job.campaign is not None else None,
            },
        )
        if scored_here:
            dirty_marks_skip(cursor=cursor, skip=False)
            if len(existing) > written.duplicates:
                leads_mark_dirty_from(cursor=cursor, table=STAGING_TABLE, where="action <> 'created'")
        if written.created:
            written.ready = leads_score_staged(table=NEW_LEADS_TABLE, lead_ids=written.created)
            leads_insert_staged(cursor=cursor, at=now, by=job.created_by, reason=stage_reason(job))
        cursor.execute(
            "INSERT INTO leads_importchange (job_id, lead_id, action, line, before, after) "  # noqa: S608 - constant table names
            f"SELECT %s, lead_id, action, line, '{{}}'::jsonb, '{{}}'::jsonb FROM {STAGING_TABLE} "
            "WHERE action <> 'updated'",
            [job.pk],
        )
    return written


def _copy_row(row: CleanRow, lead_id: int, action: str, keep_extra: bool) -> tuple:
    fields = row.fields
    employees = fields.get("employees")
    basis = fields.get("size_band_basis")
    if basis is not None:
        band = size_band(basis)
    elif employees is not None:
        band = size_band(employees)
    else:
        band = ""
    occurred = row.occurred_at
    if occurred is not None and timezone.is_aware(occurred):
        # Staged as local wall time; the INSERT places naive times in TIME_ZONE, as make_aware would.
        occurred = timezone.make_naive(occurred)
    extra = row.extra if keep_extra else None
    scan = row.scan
    return (
        row.line,
        lead_id,
        action,
        row.email,
        fields.get("first_name", ""),
        fields.get("last_name", ""),
        fields.get("phone", ""),
        fields.get("title", ""),
        fields.get("company_name", ""),
        fields.get("website", ""),
        fields.get("industry", ""),
        employees,
        band,
        fields.get("country", ""),
        fields.get("region", ""),
        json.dumps(extra, ensure_ascii=False) if extra else "{}",
        scan.get("rating"),
        scan.get("notes"),
        scan.get("badge_id"),
        scan.get("scanned_at_text"),
        occurred.isoformat() if occurred else None,
    )
