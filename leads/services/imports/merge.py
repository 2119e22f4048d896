from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from leads.imports.cleaning import CleanRow
from leads.models import (
    Activity,
    ActivityKind,
    DuplicatePolicy,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    Lead,
    SizeBand,
    SourceChannel,
)
from leads.services.lifecycle import STAGING_LEAD_COLUMNS, leads_bulk_create

logger = logging.getLogger(__name__)

# Fields an import may write on an existing lead (fill or overwrite): what it writes on a new lead, less
# the identity it matched on and the extra data. Never stage, owner or score.
UPDATABLE_FIELDS = tuple(column for column in STAGING_LEAD_COLUMNS if column not in {"email", "extra"})


@dataclass
class Written:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    skipped: int = 0
    duplicates: int = 0  # rows whose email an earlier chunk of this job already imported
    created_scored: bool = False  # the new leads were scored before their insert (PostgreSQL)
    ready: list[int] = field(default_factory=list)  # of those, the sales-ready ones, to qualify after commit

    @property
    def to_score(self) -> list[int]:
        """The leads still to score after the commit: the changed ones, and the new ones unless scored."""
        return self.updated if self.created_scored else self.created + self.updated


def apply_policies(
    *, job: ImportJob, matched: dict[int, CleanRow], now: dt.datetime
) -> tuple[list[Lead], list[ImportChange]]:
    """Apply fill/overwrite to the matched leads (locked in pk order); return the changed leads and records."""
    if job.duplicate_policy == DuplicatePolicy.SKIP or not matched:
        return [], []
    changed: list[Lead] = []
    records: list[ImportChange] = []
    fields: set[str] = set()
    for lead in Lead.objects.filter(pk__in=list(matched)).order_by("pk").locked():
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


def write_orm(*, job: ImportJob, first: dict[str, CleanRow], now: dt.datetime) -> Written:
    """Write a chunk through the ORM (any database): one email IN query, bulk inserts and updates."""
    written = Written()
    existing = dict(Lead.objects.filter(email__in=list(first)).values_list("email", "pk"))
    earlier = set(
        ImportChange.objects.filter(job_id=job.pk, lead_id__in=list(existing.values())).values_list(
            "lead_id", flat=True
        )
    )
    new_rows = [row for email, row in first.items() if email not in existing]
    matched = {existing[e]: row for e, row in first.items() if e in existing and existing[e] not in earlier}
    written.duplicates = len(first) - len(new_rows) - len(matched)
    changed, changes = apply_policies(job=job, matched=matched, now=now)
    written.updated = [lead.pk for lead in changed]
    written.skipped = len(matched) - len(changed)
    changed_ids = set(written.updated)
    changes += [
        ImportChange(job_id=job.pk, lead_id=lead_id, action=ImportChangeAction.MATCHED, line=row.line)
        for lead_id, row in matched.items()
        if lead_id not in changed_ids
    ]
    scans = list(matched.items())
    new_leads = [new_lead(job, row, now) for row in new_rows]
    created = leads_bulk_create(leads=new_leads, by=job.created_by, reason=stage_reason(job)) if new_leads else []
    for lead, row in zip(created, new_rows, strict=True):
        changes.append(ImportChange(job_id=job.pk, lead_id=lead.pk, action=ImportChangeAction.CREATED, line=row.line))
        scans.append((lead.pk, row))
    written.created = [lead.pk for lead in created]
    Activity.objects.bulk_create([badge_scan(job, lead_id, row, now) for lead_id, row in scans], batch_size=1000)
    ImportChange.objects.bulk_create(changes, batch_size=1000)
    return written


def stage_reason(job: ImportJob) -> str:
    return f"Imported from {job.original_name} (import {job.pk})"


def lead_values(job: ImportJob, row: CleanRow) -> dict[str, Any]:
    values = {name: value for name, value in row.fields.items() if name != "size_band_basis"}
    if "size_band_basis" in row.fields:
        values["size_band"] = size_band(row.fields["size_band_basis"])
    elif values.get("employees") is not None:
        values["size_band"] = size_band(values["employees"])
    return values


@functools.lru_cache(maxsize=1024)
def size_band(employees: int) -> str:
    return SizeBand.for_employees(employees)


def new_lead(job: ImportJob, row: CleanRow, now: dt.datetime) -> Lead:
    return Lead(
        email=row.email,
        source_channel=SourceChannel.EVENT,
        campaign_id=job.campaign_id,
        created_at=now,
        extra=dict(row.extra) if job.keep_extra else {},
        **lead_values(job, row),
    )


def _apply_policy(job: ImportJob, lead: Lead, row: CleanRow) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change `lead` per the duplicate policy; return (before, after) of the fields that changed."""
    if job.duplicate_policy == DuplicatePolicy.SKIP:
        return {}, {}
    overwrite = job.duplicate_policy == DuplicatePolicy.OVERWRITE
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in lead_values(job, row).items():
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


def badge_scan(job: ImportJob, lead_id: int, row: CleanRow, now: dt.datetime) -> Activity:
    occurred = row.occurred_at
    if occurred is not None and timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred)
    return Activity(
        lead_id=lead_id,
        kind=ActivityKind.BADGE_SCAN,
        occurred_at=occurred or now,
        recorded_by=job.created_by,
        source="import",
        payload=scan_payload(job, row),
        created_at=now,
    )


def scan_payload(job: ImportJob, row: CleanRow) -> dict[str, Any]:
    payload: dict[str, Any] = {"import_job": job.pk, "line": row.line, **row.scan}
    if job.campaign is not None:
        payload["campaign"] = job.campaign.name
    return payload
