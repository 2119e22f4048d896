"""Liveness records for the system status page."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from leads.models import Heartbeat


def heartbeat_record(*, names: list[str], at: dt.datetime | None = None) -> None:
    """Record that each named component (worker, beat) was alive at `at`."""
    at = at or timezone.now()
    for name in names:
        Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": at})
