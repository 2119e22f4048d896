"""Beat's schedule file: a damaged one (beat killed while writing it) is recreated, never fatal."""

from __future__ import annotations

import dbm.dumb
import logging
import pickle
from pathlib import Path

import pytest
from celery.apps.beat import Beat
from celery.beat import Service

from leadops.celery import app


def _scheduler(filename: Path):
    """Start the scheduler as `celery -A leadops beat` does (the app's configured class, not lazy)."""
    beat = Beat(app=app, schedule=str(filename))
    return Service(app=app, schedule_filename=beat.schedule, scheduler_cls=beat.scheduler_cls).get_scheduler()


@pytest.fixture
def schedule_file(tmp_path) -> Path:
    """A schedule file that a previous beat wrote and closed cleanly."""
    filename = tmp_path / "celerybeat-schedule"
    _scheduler(filename).close()
    return filename


def _assert_recreated(filename: Path, caplog) -> None:
    scheduler = _scheduler(filename)
    try:
        assert set(app.conf.beat_schedule) <= set(scheduler.schedule)
    finally:
        scheduler.close()
    assert "recreating it" in caplog.text
    reopened = _scheduler(filename)  # and the new file is sound for the next start
    try:
        assert set(app.conf.beat_schedule) <= set(reopened.schedule)
    finally:
        reopened.close()


def test_a_schedule_file_truncated_by_a_killed_beat_is_recreated(schedule_file, caplog):
    data = schedule_file.with_name(schedule_file.name + ".dat")
    assert data.is_file(), "the schedule is expected in a dbm.dumb file (index + data)"
    with data.open("r+b") as damaged:
        damaged.truncate(data.stat().st_size // 3)

    with caplog.at_level(logging.WARNING, logger="leadops.beat"):
        _assert_recreated(schedule_file, caplog)


def test_a_schedule_whose_stored_entries_do_not_unpickle_is_recreated(schedule_file, caplog):
    with dbm.dumb.open(str(schedule_file), "w") as db:
        db[b"entries"] = pickle.dumps({"x": 1})[:0]  # the index was written, the value not yet
    with caplog.at_level(logging.WARNING, logger="leadops.beat"):
        _assert_recreated(schedule_file, caplog)


def test_a_schedule_file_of_garbage_is_recreated(tmp_path, caplog):
    filename = tmp_path / "celerybeat-schedule"
    for suffix in (".dir", ".dat", ".bak"):
        filename.with_name(filename.name + suffix).write_bytes(b"\x00\xffnot a schedule\n" * 64)
    scheduler = _scheduler(filename)
    try:
        assert set(app.conf.beat_schedule) <= set(scheduler.schedule)
    finally:
        scheduler.close()
