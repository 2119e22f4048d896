"""Real threads on their own PostgreSQL connections, for tests of row locks and deadlocks.

A thread that must be blocked is observed blocked (its backend waits on a lock in pg_stat_activity)
rather than assumed blocked after a pause, so a slow machine cannot make a test pass without testing
anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row and row[0])


def until_blocked_or_done(pid: list[int], done: threading.Event, timeout: float = 10) -> str:
    """Return "blocked" once backend `pid[0]` waits on a row lock, "done" if its thread finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done.is_set():
            return "done"
        if pid and waits_on_a_lock(pid[0]):
            return "blocked"
        done.wait(0.01)  # a polling interval: the answer comes from PostgreSQL, not from the pause
    raise AssertionError(f"the thread neither blocked on a lock nor finished within {timeout} s")


def in_thread(body: Callable[[], None], *, pid: list[int], done: threading.Event, errors: list) -> threading.Thread:
    """Run `body` on its own connection, recording its backend pid first and closing the connection after."""

    def run():
        try:
            pid.append(backend_pid())
            body()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
