"""The system status page's readings: web, database, broker, worker, beat."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.models import Heartbeat


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    up: bool
    last_seen: dt.datetime | None
    detail: str


def system_status() -> list[ComponentStatus]:
    """Return each component's state; a worker or beat silent for longer than the stale limit is down."""
    now = timezone.now()
    rows = [ComponentStatus("web", True, now, "serving this page")]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        rows.append(ComponentStatus("database", True, now, connection.vendor))
    except Exception as exc:  # noqa: BLE001 - any failure means the database is down for this page
        rows.append(ComponentStatus("database", False, None, str(exc)[:200]))
        return rows
    rows.append(_broker_status(now))
    seen = dict(Heartbeat.objects.values_list("name", "last_seen"))
    stale = dt.timedelta(seconds=settings.LEADOPS_HEARTBEAT_STALE_SECONDS)
    for name, detail in (("worker", "ran a heartbeat task"), ("beat", "scheduled a heartbeat")):
        last = seen.get(name)
        up = last is not None and now - last <= stale
        rows.append(ComponentStatus(name, up, last, detail if last else "never seen"))
    return rows


def _broker_status(now: dt.datetime) -> ComponentStatus:
    from leadops.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return ComponentStatus("broker", True, now, app.conf.broker_url.split("@")[-1].split("://")[0])
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is unreachable
        return ComponentStatus("broker", False, None, str(exc)[:200])
