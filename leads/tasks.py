from __future__ import annotations

from celery import shared_task
from django.db import transaction

from leadops.celery import IDEMPOTENT_TASK_OPTIONS
from leads.services.reminders import digests_send, reminders_send_due, sla_enforce
from leads.services.system import heartbeat_record


@shared_task(name="leads.tasks.system_heartbeat", ignore_result=True)
def system_heartbeat(source: str = "web") -> None:
    """Record that a worker ran this; when beat sent it, beat is alive too. Idempotent (an upsert)."""
    heartbeat_record(names=["worker", "beat"] if source == "beat" else ["worker"])


@shared_task(
    name="leads.tasks.import_job_run_task",
    # A worker killed mid-import hands the message back; the rerun resumes from the job's checkpoint.
    reject_on_worker_lost=True,
    **IDEMPOTENT_TASK_OPTIONS,
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


# The queue's periodic work. Each service claims its side effects with a unique constraint, so a rerun,
# a redelivered message or a second beat process sends nothing twice; that is what makes acks_late safe.


@shared_task(name="leads.tasks.queue_reminders_send", **IDEMPOTENT_TASK_OPTIONS)
def queue_reminders_send() -> int:
    """Remind owners of follow-ups that have fallen due."""
    return reminders_send_due()


@shared_task(name="leads.tasks.queue_sla_enforce", **IDEMPOTENT_TASK_OPTIONS)
def queue_sla_enforce() -> dict:
    """Escalate breached first-touch SLAs and reclaim leads left untouched."""
    run = sla_enforce()
    return {"escalated": run.escalated, "reclaimed": run.reclaimed}


@shared_task(name="leads.tasks.queue_digests_send", **IDEMPOTENT_TASK_OPTIONS)
def queue_digests_send() -> int:
    """Send each rep whose local morning has come their daily digest (once a day)."""
    return digests_send()


# Behaviour events and outbound webhooks. Both services claim their work (a conditional update of the
# event or of the delivery's due time), so a redelivered message does nothing twice.


@shared_task(name="leads.tasks.events_process_task", **IDEMPOTENT_TASK_OPTIONS)
def events_process_task(event_ids: list[int]) -> int:
    """Record stored behaviour events as activities on their leads (once each)."""
    from leads.services.events import events_process

    return events_process(event_ids=event_ids)


@shared_task(name="leads.tasks.events_redrive_task", **IDEMPOTENT_TASK_OPTIONS)
def events_redrive_task() -> int:
    """Hand over behaviour events the broker never took (it was down) or whose message was lost."""
    from leads.services.events import events_redrive

    return events_redrive()


@shared_task(name="leads.tasks.webhook_delivery_send_task", **IDEMPOTENT_TASK_OPTIONS)
def webhook_delivery_send_task(delivery_id: int) -> bool:
    """Make one attempt of a due webhook delivery; the next attempt, if any, is scheduled in the database."""
    from leads.services.webhooks import webhook_delivery_attempt

    return webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="leads.tasks.webhooks_send_due_task", **IDEMPOTENT_TASK_OPTIONS)
def webhooks_send_due_task() -> int:
    """Send every webhook delivery whose next attempt has come (retries and missed hand-overs)."""
    from leads.services.webhooks import webhook_deliveries_send_due

    return webhook_deliveries_send_due()
