"""The Celery app. The beat schedule lives here and nowhere else."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")

app = Celery("leadops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves beat and a worker are alive: the worker records both on the system status page.
    "system-heartbeat": {"task": "leads.tasks.system_heartbeat", "schedule": 30.0, "kwargs": {"source": "beat"}},
    # Keeps the dashboard's rollups current: recomputes the leads and days marked dirty by stage changes,
    # and catches up on stage-log rows and sales touches that nobody marked. Idempotent, so overlap is safe.
    "reporting-rollups-refresh": {"task": "reporting.tasks.rollups_refresh_task", "schedule": 60.0},
}
