from __future__ import annotations

import logging
from dataclasses import dataclass, field

from leads.imports.cleaning import CleanRow
from leads.imports.table import table_rows
from leads.models import (
    ImportJob,
    Lead,
)

from .mapping import chunks, clean_cells, int_mapping
from .run import CHUNK_ROWS
from .upload import import_job_path, job_table

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20


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
    mapping = int_mapping(job)
    seen: set[str] = set()
    for chunk in chunks(table_rows(import_job_path(job), table), CHUNK_ROWS):
        cleaned = [clean_cells(job, mapping, line, cells) for line, cells in chunk]
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
