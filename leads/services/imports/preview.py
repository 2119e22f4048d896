from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

from leads.imports.cleaning import CleanRow
from leads.imports.table import table_head_rows, table_read_size, table_rows
from leads.models import (
    ImportJob,
    Lead,
)

from .mapping import chunks, clean_cells, int_mapping
from .run import CHUNK_ROWS
from .upload import import_job_path, job_table

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
# The preview runs in the web request: it counts the whole file only when reading it all is this cheap (bytes of
# text, or a workbook's unpacked bytes); a larger file shows its first rows and is counted by the import, in the worker.
PREVIEW_COUNT_BYTES = 8 * 1024 * 1024


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
    # None when the file is too large to count in a request: the counts below then cover the rows shown.
    total: int | None = 0
    new: int = 0
    in_file_duplicates: int = 0
    existing_matches: int = 0
    errors: int = 0


def import_job_preview(*, job: ImportJob, sample: int = PREVIEW_ROWS) -> Preview:
    """Read the file as the run will (without writing) and return the first rows and the totals.

    A file larger than `PREVIEW_COUNT_BYTES` is not counted (`total` is None): only its first rows are read.
    """
    preview = Preview()
    table = job_table(job)
    mapping = int_mapping(job)
    seen: set[str] = set()
    path = import_job_path(job)
    counted = table_read_size(path, table) <= PREVIEW_COUNT_BYTES
    rows = table_rows(path, table) if counted else itertools.islice(table_head_rows(path, table), sample)
    for chunk in chunks(rows, CHUNK_ROWS):
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
    if not counted:
        preview.total = None
    return preview
