from __future__ import annotations

from celery import shared_task
from django.db import OperationalError, transaction

from leads.services.system import heartbeat_record


@shared_task(name="leads.tasks.system_heartbeat", ignore_result=True)
def system_heartbeat(source: str = "web") -> None:
    """Record that a worker ran this; when beat sent it, beat is alive too. Idempotent (an upsert)."""
    heartbeat_record(names=["worker", "beat"] if source == "beat" else ["worker"])


@shared_task(
    name="leads.tasks.import_job_run_task",
    ignore_result=True,
    acks_late=True,
    # A worker killed mid-import hands the message back; the rerun resumes from the job's checkpoint.
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def import_job_run_task(job_id: int) -> None:
    """Run or resume one import. Idempotent: the service claims the job and commits chunks at a checkpoint."""
    from leads.services.imports import import_job_run

    import_job_run(job_id=job_id)


@shared_task(name="leads.tasks.imports_resume_stale", ignore_result=True)
def imports_resume_stale() -> None:
    """Re-enqueue imports whose worker died without handing its message back."""
    from leads.services.imports import import_jobs_resume_stale

    with transaction.atomic():
        import_jobs_resume_stale()
