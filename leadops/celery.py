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
    # Resumes imports whose worker was killed and whose message was not handed back (checkpointed, no dupes).
    "imports-resume-stale": {"task": "leads.tasks.imports_resume_stale", "schedule": 120.0},
}
