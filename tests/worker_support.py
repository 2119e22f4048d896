"""Fixtures for tests that run tasks in a real `celery worker` process through the app's broker.

A test using `worker_queue` must be a transactional test (the worker reads committed rows).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from kombu import Connection, Exchange, Queue

REPO = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 60


def _database_url() -> str:
    """Return a DATABASE_URL for the test database this test runs on, for the worker process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def broker(tmp_path):
    """Return (environment for the worker, a connection to send with): REDIS_URL's Redis, else a temp folder."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadops.settings.test", "DATABASE_URL": _database_url()}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return env, Connection(redis_url)
    folder = tmp_path / "broker"
    env["LEADOPS_BROKER_DIR"] = str(folder)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
    }
    for path in options.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    return env, Connection("filesystem://localhost//", transport_options=options)


@pytest.fixture
def worker_queue(broker, tmp_path):
    """Start `celery -A leadops worker` on a queue of its own, stop it with SIGTERM after the test."""
    env, conn = broker
    # A queue of its own: leftover messages on a shared Redis cannot satisfy (or disturb) this test.
    name = f"leadops-test-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with conn:
        queue(conn.default_channel).declare()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "leadops", "worker", "-l", "info", "-Q", name,
             "--concurrency=1", "--without-mingle", "--without-gossip", "--hostname", f"{name}@%h"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield name, conn, process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if conn.transport_cls == "redis":
            # Redis keeps the binding table; kombu removes it only for bindings this connection declared.
            with conn:
                bound = queue(conn.default_channel)
                bound.declare()
                bound.delete()


def log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


def wait_until(check, *, process, log_path: Path, what: str) -> None:
    """Poll `check` until it is true; fail with the worker's log if the worker dies or WAIT_SECONDS pass."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert process.poll() is None, f"the worker exited with {process.returncode}:\n{log_tail(log_path)}"
        assert time.monotonic() < deadline, f"{what} not seen after {WAIT_SECONDS}s:\n{log_tail(log_path)}"
        time.sleep(0.25)
