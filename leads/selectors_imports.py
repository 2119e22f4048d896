"""Reads for imports: job lists, a batch's leads, and the error file."""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.db.models import QuerySet

from leads.csv_safety import formula_safe_writer
from leads.models import ImportChange, ImportJob, ImportRowError, Lead
from leads.selectors import lead_scope


def import_job_list(*, user) -> QuerySet[ImportJob]:
    """Return imports newest first (marketing and admins see every import)."""
    return ImportJob.objects.select_related("campaign", "created_by").order_by("-created_at", "-id")


def import_batch_leads(*, job: ImportJob, user) -> QuerySet[Lead]:
    """Return the leads the import created or changed, as far as the user may see them."""
    lead_ids = ImportChange.objects.filter(job=job, lead__isnull=False).values("lead_id")
    return lead_scope(user=user).filter(pk__in=lead_ids).select_related("campaign", "owner").order_by("-id")


def import_error_file(*, job: ImportJob) -> Iterator[str]:
    """Yield the error file as CSV text: the file's headers, then each rejected row with its line and reason."""
    buffer = io.StringIO()
    writer = formula_safe_writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    yield "\ufeff"  # a BOM, so Excel opens the UTF-8 file with the right characters
    writer.writerow(["Line", "Reason", *job.headers])
    yield flush()
    rows = ImportRowError.objects.filter(job=job).order_by("line").values_list("line", "reason", "values")
    for line, reason, values in rows.iterator(chunk_size=2000):
        writer.writerow([line, reason, *values])
        if buffer.tell() > 64 * 1024:
            yield flush()
    yield flush()
