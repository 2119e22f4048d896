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
    # Reps' due follow-ups: an indexed scan of due times; the reminder's unique constraint sends each once.
    "queue-reminders": {"task": "leads.tasks.queue_reminders_send", "schedule": 120.0},
    # First-touch SLA: escalate breaches to the rep's manager, reclaim and reassign leads left untouched.
    "queue-sla": {"task": "leads.tasks.queue_sla_enforce", "schedule": 300.0},
    # Daily digest per rep: checked every 15 minutes so each team's local morning is caught; once a day.
    "queue-digests": {"task": "leads.tasks.queue_digests_send", "schedule": 900.0},
}
