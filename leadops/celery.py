"""The Celery app. The beat schedule lives here and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab
from django.db import OperationalError
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")

# Options for a task whose service is idempotent (it claims its work with a conditional update or a unique
# constraint): only then is acks_late safe, and a lost database connection is worth a retry with backoff.
IDEMPOTENT_TASK_OPTIONS = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}

# Queues. Bulk work (an import of many thousand rows, the nightly re-score of every lead) goes to its own
# queue, so a deployment can serve it with a separate worker of concurrency 1: then it never holds every
# worker slot while events, reminders and scoring wait, and it runs one at a time next to the web server.
# A worker started without -Q consumes both (task_queues below), so the Procfile's and docker-compose's one
# worker, and any deployment that predates the split, still runs every task; to split them run
# `celery -A leadops worker -Q celery` and `celery -A leadops worker -Q bulk --concurrency=1`.
DEFAULT_QUEUE = "celery"
BULK_QUEUE = "bulk"
BULK_TASKS = ("leads.tasks.import_job_run_task", "scoring.tasks.rescore_all", "scoring.tasks.rescore_chunk")

app = Celery("leadops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_queues = (Queue(DEFAULT_QUEUE), Queue(BULK_QUEUE))
app.conf.task_routes = {name: {"queue": BULK_QUEUE} for name in BULK_TASKS}
# Beat keeps its last run times in a shelve file (CELERY_BEAT_SCHEDULE_FILENAME); a damaged one is recreated.
app.conf.beat_scheduler = "leadops.beat:RecoveringPersistentScheduler"
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves beat and a worker are alive: the worker records both on the system status page.
    "system-heartbeat": {"task": "leads.tasks.system_heartbeat", "schedule": 30.0, "kwargs": {"source": "beat"}},
    # Resumes imports whose worker was killed and whose message was not handed back (checkpointed, no dupes),
    # and hands over started imports the broker did not take (down or frozen when they were started).
    "imports-resume-stale": {"task": "leads.tasks.imports_resume_stale", "schedule": 120.0},
    # Keeps the dashboard's rollups current: recomputes the leads and days marked dirty by stage changes,
    # and catches up on stage-log rows and sales touches that nobody marked. Idempotent, so overlap is safe.
    "reporting-rollups-refresh": {"task": "reporting.tasks.rollups_refresh_task", "schedule": 60.0},
    # Reps' due follow-ups: an indexed scan of due times; the reminder's unique constraint sends each once.
    "queue-reminders": {"task": "leads.tasks.queue_reminders_send", "schedule": 120.0},
    # First-touch SLA: escalate breaches to the rep's manager, reclaim and reassign leads left untouched.
    "queue-sla": {"task": "leads.tasks.queue_sla_enforce", "schedule": 300.0},
    # Daily digest per rep: checked every 15 minutes so each team's local morning is caught; once a day.
    "queue-digests": {"task": "leads.tasks.queue_digests_send", "schedule": 900.0},
    # Scores leads with new activity (marked dirty by a trigger) within seconds, many leads per statement.
    "scoring-dirty-leads": {"task": "scoring.tasks.score_dirty_leads", "schedule": 10.0},
    # Nurture: enrols graded inquiries as the ULD routes them and sends due steps; each (enrolment, step)
    # has one delivery row (unique), so overlapping runs or a redelivered task never send a step twice.
    "nurture-advance": {"task": "nurture.tasks.nurture_advance", "schedule": 60.0},
    # Behaviour events the broker did not take (down or paused when they arrived) or whose message was lost:
    # hand them over again. Events are stored in PostgreSQL first and processing claims each, so no dupes.
    "events-redrive": {"task": "leads.tasks.events_redrive_task", "schedule": 60.0},
    # Webhook deliveries whose next attempt is due: retries with backoff, scheduled in the database so
    # they survive worker restarts and a lost broker.
    "webhooks-send-due": {"task": "leads.tasks.webhooks_send_due_task", "schedule": 15.0},
    # Re-scores everyone each night so engagement points fade (half-lives, expiry windows) as time passes.
    "scoring-nightly-decay": {
        "task": "scoring.tasks.rescore_all",
        "schedule": crontab(hour=2, minute=15),
        "kwargs": {"reason": "nightly"},
    },
}


@app.on_after_configure.connect
def _broker_folders_create(sender: Celery, **kwargs: object) -> None:
    """Create the filesystem broker's folders: kombu fails on a missing one instead of creating it.

    This runs once per process when the configuration is first read, so the web server, the worker and
    beat each make sure of it without depending on who started first.
    """
    if not str(sender.conf.broker_url or "").startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
