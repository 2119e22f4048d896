"""Celery tasks of the reporting app: thin wrappers around the rollup service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reporting.services import rollups_refresh


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def rollups_refresh_task() -> dict:
    """Recompute the rollups of everything changed since the last run (idempotent: recompute by unit)."""
    result = rollups_refresh()
    return {"leads": result.leads, "flow_days": result.flow_days, "cohort_days": result.cohort_days}
