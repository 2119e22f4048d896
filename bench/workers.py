"""The command line of a real Celery worker, as the benchmarks start it."""

from __future__ import annotations

import sys


def celery_worker_command(
    *, concurrency: int, name: str | None = None, queues: str | None = None, nice: int = 0
) -> list[str]:
    """Return the argv of a prefork worker logging warnings only, without gossip or mingle.

    Without `queues` it consumes every queue the app declares: imports and re-scores go to `bulk`
    (leadops/celery.py), so a worker limited to `celery` would never run them. `nice` > 0 runs it at that
    lower CPU priority, as the Procfile does.
    """
    command = ["nice", "-n", str(nice)] if nice else []
    command += [sys.executable, "-m", "celery", "-A", "leadops", "worker", "--pool=prefork"]
    command += [f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-mingle", "--without-gossip"]
    if name:
        command += ["-n", name]
    if queues:
        command += ["-Q", queues]
    return command
