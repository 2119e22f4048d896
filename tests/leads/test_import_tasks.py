"""The import task through the broker it really uses, with a real worker whose child is killed mid-run.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): a worker is another process and cannot see
SQLite's in-memory test database. The task is also run once in-process to check it is idempotent.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from leads.models import Activity, ImportStatus, Lead
from leads.services.imports import import_job_create, import_job_start
from leads.tasks import import_job_run_task
from tests.factories import CampaignFactory

REPO = Path(__file__).resolve().parents[2]


def rows_csv(count: int, *, duplicate_every: int = 20) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Email", "First Name", "Company"])
    for i in range(count):
        n = i - 1 if i % duplicate_every == 0 and i else i
        writer.writerow([f"Person{n}@Example.com", f"P{n}", f"Co {n}"])
    return buffer.getvalue().encode()


@pytest.mark.django_db
def test_task_body_is_idempotent(marketer, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    job = import_job_create(by=marketer, upload=SimpleUploadedFile("t.csv", rows_csv(50)), campaign=CampaignFactory())
    with django_capture_on_commit_callbacks(execute=False):
        import_job_start(job=job, by=marketer)
    import_job_run_task.run(job.pk)
    import_job_run_task.run(job.pk)  # a redelivery finds the job done and changes nothing
    job.refresh_from_db()
    assert (job.status, job.created_count, job.duplicate_count, job.attempts) == ("done", 48, 2, 1)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
    reason="needs PostgreSQL and Redis for a worker process",
)
def test_worker_killed_mid_import_resumes_to_exact_counts(migrated_data, marketer, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leadops.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LEADOPS_VAR_DIR": str(tmp_path),
        "DATABASE_CONN_MAX_AGE": "0",
    }
    job = import_job_create(
        by=marketer, upload=SimpleUploadedFile("big.csv", rows_csv(30_000)), campaign=CampaignFactory()
    )
    # The worker reads the file from its own MEDIA_ROOT (under LEADOPS_VAR_DIR).
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "imports").mkdir(exist_ok=True)
    (Path(settings.MEDIA_ROOT) / "imports" / job.stored_name).rename(tmp_path / "media/imports" / job.stored_name)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadops",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import_job_start(job=job, by=marketer)  # enqueued on commit (autocommit here)
        killed = False
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if not killed and job.rows_done > 0 and job.status == ImportStatus.RUNNING:
                for child in _children(worker.pid):
                    os.kill(child, signal.SIGKILL)  # the pool child dies mid-run, as under the OOM killer
                killed = True
            if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert killed
    assert job.status == ImportStatus.DONE, job.message
    assert job.attempts >= 2
    unique = 30_000 - len(range(20, 30_000, 20))
    assert (job.rows_done, job.created_count, job.duplicate_count) == (30_000, unique, 30_000 - unique)
    assert Lead.objects.count() == unique == Activity.objects.count()
    assert django_settings.CELERY_BROKER_URL.startswith("redis")
