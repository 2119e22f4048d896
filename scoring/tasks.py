"""Celery tasks for scoring: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from leadops.celery import IDEMPOTENT_TASK_OPTIONS

from . import services


@shared_task(name="scoring.tasks.score_dirty_leads", ignore_result=True)
def score_dirty_leads() -> int:
    """Score leads with new activity. Bursts coalesce: one mark per lead however many events arrived."""
    return services.score_dirty_process()


@shared_task(name="scoring.tasks.rescore_chunk", **IDEMPOTENT_TASK_OPTIONS)
def rescore_chunk(chunk_id: int) -> int:
    """Score one primary-key range of a run (idempotent: the chunk's done mark is claimed once)."""
    return services.rescore_chunk_process(chunk_id=chunk_id)


@shared_task(name="scoring.tasks.rescore_all", ignore_result=True)
def rescore_all(reason: str = "nightly") -> int | None:
    """Start a re-score of everyone (nightly, so engagement fades with time)."""
    run = services.rescore_run_start(reason=reason)
    return run.pk if run else None
