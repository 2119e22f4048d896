from __future__ import annotations

from celery import shared_task

from leads.services.system import heartbeat_record


@shared_task(name="leads.tasks.system_heartbeat", ignore_result=True)
def system_heartbeat(source: str = "web") -> None:
    """Record that a worker ran this; when beat sent it, beat is alive too. Idempotent (an upsert)."""
    heartbeat_record(names=["worker", "beat"] if source == "beat" else ["worker"])
