"""Nurture's periodic work: thin tasks over idempotent services (see leadops/celery.py for the schedule)."""

from __future__ import annotations

from celery import shared_task

from leadops.celery import IDEMPOTENT_TASK_OPTIONS
from nurture.services.delivery import deliveries_stale_fail, enrolments_advance_due
from nurture.services.enrolment import leads_graded_route, routing_pending_apply


@shared_task(**IDEMPOTENT_TASK_OPTIONS)
def nurture_advance() -> int:
    """Route graded inquiries to their tracks, then send every due step (each at most once)."""
    routing_pending_apply()
    leads_graded_route()
    deliveries_stale_fail()
    return enrolments_advance_due()
