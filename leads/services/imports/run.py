from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.imports.cleaning import CleanRow
from leads.imports.errors import FileRefused
from leads.imports.mapping import mapping_problems
from leads.imports.table import table_rows
from leads.models import (
    Campaign,
    DuplicatePolicy,
    ImportJob,
    ImportRowError,
    ImportStatus,
)
from leads.models.imports import IMPORT_TRANSITIONS
from leads.services.broker import tasks_send_safely
from scoring.services import leads_qualify_ready, leads_score

from .mapping import chunks, clean_cells, int_mapping
from .merge import Written, write_orm
from .staging import write_pg
from .upload import NewCampaign, import_job_configure, import_job_create, import_job_path, job_table

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000


MAX_ATTEMPTS = 5


# --- Start, run, cancel ---------------------------------------------------------------------------


def job_move(job_id: int, *, from_statuses: Iterable[str], to: str, **changes: Any) -> bool:
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
        # heartbeat_at None: not handed to the broker yet (see import_job_hand_over).
        if not job_move(job.pk, from_statuses=[ImportStatus.DRAFT], to=ImportStatus.QUEUED, heartbeat_at=None):
            raise ApplicationError("This import has already been started.", code="conflict")
        # robust: the job is committed as queued, so nothing after this may turn the answer into an error.
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    job.refresh_from_db()
    return job


def import_job_submit(
    *,
    by,
    upload,
    campaign: Campaign | NewCampaign,
    source: str = "",
    mapping: dict[str, str] | None = None,
    keep_extra: bool = True,
    duplicate_policy: str = DuplicatePolicy.SKIP,
    start: bool = True,
) -> ImportJob:
    """Upload, configure and (if `start`) start an import in one step, all or nothing (the API's upload).

    A refusal at any step (the file, the mapping, the start) leaves no campaign, no job and no stored file.
    """

    def configure_and_start(job: ImportJob) -> ImportJob:
        import_job_configure(job=job, mapping=mapping, keep_extra=keep_extra, duplicate_policy=duplicate_policy)
        return import_job_start(job=job, by=by) if start else job

    return import_job_create(by=by, upload=upload, campaign=campaign, source=source, then=configure_and_start)


def _enqueue(job_id: int) -> None:
    import_job_hand_over(job_id=job_id)


def import_job_hand_over(*, job_id: int) -> bool:
    """Publish the job to Celery once, with short timeouts; never raise, never wait long.

    Return whether the broker took it. A queued job keeps `heartbeat_at` None until the broker has taken
    its message, so when the broker is down or frozen the resume sweep (beat) sends it later.
    """
    from leads.tasks import import_job_run_task

    sent = tasks_send_safely(task=import_job_run_task, calls=[(job_id,)])
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        heartbeat_at=timezone.now() if sent else None
    )
    return sent


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Ask a queued or running import to stop; rows already committed stay (undo removes them)."""
    if job.status == ImportStatus.QUEUED and job_move(
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
        job_move(
            job_id,
            from_statuses=[ImportStatus.RUNNING],
            to=ImportStatus.FAILED,
            finished_at=timezone.now(),
            message=f"The import stopped after {MAX_ATTEMPTS} attempts at line {job.last_line}; the rows before it "
            "are imported. Undo it or contact an administrator.",
        )
        return ImportJob.objects.get(pk=job_id)
    mapping = int_mapping(job)
    rows_seen = job.rows_done
    try:
        rows = table_rows(import_job_path(job), job_table(job))
        pending = (item for item in rows if item[0] > job.last_line)
        for chunk, cleaned in _read_ahead(chunks(pending, CHUNK_ROWS), job, mapping):
            if ImportJob.objects.filter(pk=job_id, cancel_requested=True).exists():
                job_move(
                    job_id, from_statuses=[ImportStatus.RUNNING], to=ImportStatus.CANCELLED, finished_at=timezone.now()
                )
                return ImportJob.objects.get(pk=job_id)
            written = _chunk_commit_with_retry(job=job, chunk=chunk, cleaned=cleaned)
            if written is None:
                logger.info("import %s: another run advanced the checkpoint; this one stops", job_id)
                return ImportJob.objects.get(pk=job_id)
            rows_seen = job.rows_done
            # Scored at once (and, when sales-ready, qualified and routed) after the chunk commits; on
            # PostgreSQL the new leads were scored before their insert, so only their hand-off is left.
            if written.to_score:
                leads_score(lead_ids=written.to_score)
            if written.ready:
                leads_qualify_ready(lead_ids=written.ready)
            _chunk_pause()
    except FileRefused as exc:
        job_move(
            job_id,
            from_statuses=[ImportStatus.RUNNING],
            to=ImportStatus.FAILED,
            message=exc.message,
            finished_at=timezone.now(),
        )
        return ImportJob.objects.get(pk=job_id)
    job_move(
        job_id,
        from_statuses=[ImportStatus.RUNNING],
        to=ImportStatus.DONE,
        total_rows=rows_seen,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return ImportJob.objects.get(pk=job_id)


def _read_ahead(
    chunked: Iterator[list], job: ImportJob, mapping: dict[int, str]
) -> Iterator[tuple[list, list[CleanRow]]]:
    """Yield (chunk, its cleaned rows), reading and cleaning the next chunk while the caller writes this one.

    One thread, one chunk ahead: parsing and cleaning are Python, the writes mostly wait on PostgreSQL
    (psycopg2 lets go of the GIL meanwhile), so the two overlap; memory stays at two chunks. Only that
    thread touches the file's iterator, and never the database.
    """

    def next_cleaned() -> tuple[list, list[CleanRow]] | None:
        chunk = next(chunked, None)
        if chunk is None:
            return None
        return chunk, [clean_cells(job, mapping, line, cells) for line, cells in chunk]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-read") as pool:
        future = pool.submit(next_cleaned)
        while (item := future.result()) is not None:
            future = pool.submit(next_cleaned)
            yield item


def _chunk_pause() -> None:
    """Let the site breathe between chunks when LEADOPS_IMPORT_CHUNK_PAUSE_MS asks for it (default: no pause).

    Outside any transaction (the chunk has committed), so the pause holds no locks and no snapshot.
    """
    if settings.LEADOPS_IMPORT_CHUNK_PAUSE_MS:
        time.sleep(settings.LEADOPS_IMPORT_CHUNK_PAUSE_MS / 1000)


def _chunk_commit_with_retry(*, job: ImportJob, chunk: list, cleaned: list[CleanRow]) -> Written | None:
    for attempt in range(3):
        try:
            return _chunk_commit(job=job, chunk=chunk, cleaned=cleaned)
        except IntegrityError:
            # Someone created one of these emails between our lookup and our insert: look again.
            if attempt == 2:
                raise
    return None


@transaction.atomic
def _chunk_commit(*, job: ImportJob, chunk: list, cleaned: list[CleanRow]) -> Written | None:
    """Commit one chunk and advance the checkpoint; return what it wrote, None if another run did it."""
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
    writer = write_pg if connection.vendor == "postgresql" else write_orm
    written = writer(job=job, first=first, now=now) if first else Written()
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
    return written


def import_jobs_resume_stale(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> list[int]:
    """Hand over imports that have no live message; return their ids.

    Those are running imports whose worker went silent (killed mid-run) and queued imports the broker
    never took (it was down or frozen when they were started).
    """
    cutoff = timezone.now() - older_than
    stale = list(
        ImportJob.objects.filter(
            Q(status=ImportStatus.RUNNING, heartbeat_at__lt=cutoff)
            | Q(status=ImportStatus.QUEUED, heartbeat_at__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for job_id in stale:
        # Touch the heartbeat so the next sweep does not enqueue it again while this run starts.
        ImportJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        transaction.on_commit(lambda job_id=job_id: _enqueue(job_id))
    return stale
