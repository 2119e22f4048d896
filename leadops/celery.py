"""The Celery app. The beat schedule lives here and nowhere else."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")

app = Celery("leadops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves beat and a worker are alive: the worker records both on the system status page.
    "system-heartbeat": {"task": "leads.tasks.system_heartbeat", "schedule": 30.0, "kwargs": {"source": "beat"}},
    # Scores leads with new activity (marked dirty by a trigger) within seconds, many leads per statement.
    "scoring-dirty-leads": {"task": "scoring.tasks.score_dirty_leads", "schedule": 10.0},
    # Re-scores everyone each night so engagement points fade (half-lives, expiry windows) as time passes.
    "scoring-nightly-decay": {
        "task": "scoring.tasks.rescore_all",
        "schedule": crontab(hour=2, minute=15),
        "kwargs": {"reason": "nightly"},
    },
}
