"""Celery beat's scheduler: the shelve file of last run times, recreated when it is damaged.

A beat killed while writing `celerybeat-schedule` leaves a file whose index points past the end of its
data; Celery's `PersistentScheduler` recreates a file it cannot open, but not one whose stored values
fail to unpickle (`EOFError: Ran out of input`), and then beat dies at start-up every time (under honcho
taking the web server and the worker down with it). The file only remembers when each entry last ran, so
starting it afresh costs at most one early run of each entry, all of which are idempotent.
"""

from __future__ import annotations

import logging

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)


class RecoveringPersistentScheduler(PersistentScheduler):
    """A `PersistentScheduler` that removes a schedule file it cannot read and starts a new one."""

    def setup_schedule(self) -> None:
        try:
            super().setup_schedule()
        except Exception as exc:  # noqa: BLE001 - any damage (EOFError, UnpicklingError, dbm errors) alike
            logger.warning(
                "beat: the schedule file %s is damaged (%s: %s); recreating it.",
                self.schedule_filename,
                type(exc).__name__,
                exc,
            )
            self._close_store()
            self._remove_db()
            # A second failure (say, the folder is not writable) is not damage: let beat stop with it.
            super().setup_schedule()

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.close()
        except Exception:  # noqa: BLE001, S110 - a damaged store may fail to close; it is removed anyway
            pass
