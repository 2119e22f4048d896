"""Importing a list of leads: upload, configure, preview, the chunked resumable run, cancel and undo.

The run reads the stored file in chunks; each chunk is one transaction that dedupes with one
`email = ANY(...)` query, merges matches per the duplicate policy, COPYs the rest into a temporary table
and inserts the new leads (scored), their stage log, one badge-scan activity per row and the change
records with one statement each, then advances the job's checkpoint (`last_line`) under a row lock. A
worker killed mid-run leaves the checkpoint at the last committed chunk; the rerun skips the rows up to
it, so no row is lost or imported twice.

Modules: `upload` (storing, detecting how to read, configuring), `mapping` (presets, cleaning rows),
`preview`, `run` (start, run, progress, cancel), `merge` (dedupe and the duplicate policies),
`staging` (the PostgreSQL COPY path), `undo`.
"""

from __future__ import annotations

from .mapping import mapping_preset_find, mapping_preset_save
from .preview import PREVIEW_ROWS, Preview, PreviewRow, import_job_preview
from .run import (
    CHUNK_ROWS,
    MAX_ATTEMPTS,
    import_job_cancel,
    import_job_run,
    import_job_start,
    import_job_submit,
    import_jobs_resume_stale,
)
from .undo import import_job_undo
from .upload import (
    ALLOWED_EXTENSIONS,
    NewCampaign,
    campaign_create,
    import_dir,
    import_job_configure,
    import_job_create,
    import_job_path,
    job_table,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "CHUNK_ROWS",
    "MAX_ATTEMPTS",
    "NewCampaign",
    "PREVIEW_ROWS",
    "Preview",
    "PreviewRow",
    "campaign_create",
    "import_dir",
    "import_job_cancel",
    "import_job_configure",
    "import_job_create",
    "import_job_path",
    "import_job_preview",
    "import_job_run",
    "import_job_start",
    "import_job_submit",
    "import_job_undo",
    "import_jobs_resume_stale",
    "job_table",
    "mapping_preset_find",
    "mapping_preset_save",
]
