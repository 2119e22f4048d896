from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.models import (
    Activity,
    ActivityKind,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportStatus,
    Lead,
    StageChange,
)

from .mapping import chunks
from .run import job_move

logger = logging.getLogger(__name__)

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
        for batch in chunks(change_ids, 5000):
            _undo_batch(job, list(ImportChange.objects.filter(pk__in=batch).order_by("lead_id")), report)
        job_move(
            job.pk, from_statuses=[locked.status], to=ImportStatus.UNDONE, undone_at=timezone.now(), undo_report=report
        )
    return report


def _undo_batch(job: ImportJob, changes: list[ImportChange], report: dict[str, Any]) -> None:
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[c.lead_id for c in changes]).order_by("pk").locked()}
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
    for batch in chunks(deleted, 1000):
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
