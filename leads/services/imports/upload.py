from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from leadops.errors import ApplicationError
from leads.imports.mapping import mapping_problems, propose_mapping
from leads.imports.readers import ReadSpec
from leads.imports.table import Table, table_inspect
from leads.models import (
    Campaign,
    CampaignKind,
    DuplicatePolicy,
    ImportJob,
    ImportStatus,
)

from .mapping import mapping_preset_find

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")


def import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def import_job_path(job: ImportJob) -> Path:
    return import_dir() / job.stored_name


def _max_unpacked() -> int:
    return 20 * settings.LEADOPS_IMPORT_MAX_BYTES


# --- Upload and configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class NewCampaign:
    """A trade-show campaign to create together with an import, once the import's file is accepted."""

    name: str
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    cost: Decimal | int = 0


def _campaign_check(*, name: str, starts_on: dt.date | None, ends_on: dt.date | None, cost) -> str:
    """Raise ApplicationError if a campaign cannot be created so; return the name as it will be stored."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the campaign a name (the show's name).")
    if Campaign.objects.filter(name=name).exists():
        raise ApplicationError(f"A campaign named {name!r} already exists; pick it from the list.")
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError("The show cannot end before it starts.")
    if cost is not None and cost < 0:
        raise ApplicationError("The cost cannot be negative.")
    return name


@transaction.atomic
def campaign_create(
    *, by, name: str, starts_on: dt.date | None = None, ends_on: dt.date | None = None, cost=0
) -> Campaign:
    """Create a trade-show campaign for an import (name unique, dates in order, cost not negative)."""
    name = _campaign_check(name=name, starts_on=starts_on, ends_on=ends_on, cost=cost)
    return Campaign.objects.create(
        name=name, kind=CampaignKind.TRADE_SHOW, starts_on=starts_on, ends_on=ends_on, cost=cost or 0, owner=by
    )


def import_job_create(
    *,
    by,
    upload,
    campaign: Campaign | NewCampaign | None,
    source: str = "",
    then: Callable[[ImportJob], ImportJob] | None = None,
) -> ImportJob:
    """Store an uploaded file under a generated name, detect how to read it, and propose a mapping.

    Nothing is created unless the file is accepted: a `NewCampaign` is checked before the file is read
    and created in one transaction with the job, after it. `then` runs in that transaction too (the API
    configures and starts the job there), so its refusal also leaves no campaign, job or stored file.
    """
    if isinstance(campaign, NewCampaign):
        _campaign_check(name=campaign.name, starts_on=campaign.starts_on, ends_on=campaign.ends_on, cost=campaign.cost)
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
        if not table.has_data:
            raise ApplicationError(
                f"{name!r} has a header row (line {table.header_line}) but no data rows below it.", code="empty"
            )
    except ApplicationError:
        path.unlink(missing_ok=True)
        raise
    preset = mapping_preset_find(headers=table.headers, source=source)
    try:
        with transaction.atomic():
            if isinstance(campaign, NewCampaign):
                campaign = campaign_create(
                    by=by,
                    name=campaign.name,
                    starts_on=campaign.starts_on,
                    ends_on=campaign.ends_on,
                    cost=campaign.cost,
                )
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
            if then is not None:
                job = then(job)
    except Exception:
        # Rolled back: the file belongs to no job now.
        path.unlink(missing_ok=True)
        raise
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
