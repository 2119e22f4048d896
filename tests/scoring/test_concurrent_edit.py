"""Re-scoring while a rep edits the lead: the edit stands, the score follows it, nothing deadlocks.

PostgreSQL row locks, with real threads on their own connections. A thread that must be blocked is
observed blocked (its backend waits on a lock in pg_stat_activity) rather than assumed blocked after a
pause, so a slow machine cannot make these tests pass without testing anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from leads.models import Lead
from leads.services.lead_edit import lead_update
from scoring.models import ScoreDirty
from scoring.services import leads_score, score_dirty_process
from tests.factories import LeadFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two PostgreSQL connections")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row and row[0])


def _until_blocked_or_done(pid: list[int], done: threading.Event, timeout: float = 10) -> str:
    """Return "blocked" once backend `pid[0]` waits on a row lock, "done" if its thread finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done.is_set():
            return "done"
        if pid and _waits_on_a_lock(pid[0]):
            return "blocked"
        done.wait(0.01)  # a polling interval: the answer comes from PostgreSQL, not from the pause
    raise AssertionError("the thread neither blocked on a lock nor finished within 10 s")


def _in_thread(body: Callable[[], None], *, pid: list[int], done: threading.Event, errors: list) -> threading.Thread:
    """Run `body` on its own connection, recording its backend pid first and closing the connection after."""

    def run():
        try:
            pid.append(_backend_pid())
            body()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_rescore_waits_for_a_reps_edit_then_scores_the_edited_lead(migrated_data):
    lead = LeadFactory(title="Analyst", company_name="Acme", authority="decision_maker", employees=500)
    edited, release = threading.Event(), threading.Event()
    rep_pid, rep_done, scorer_pid, scored, errors = [], threading.Event(), [], threading.Event(), []

    def rep_edits_title():
        with transaction.atomic():
            Lead.objects.filter(pk=lead.pk).update(title="Head of Analytics")
            edited.set()
            assert release.wait(10)

    rep = _in_thread(rep_edits_title, pid=rep_pid, done=rep_done, errors=errors)
    assert edited.wait(10)
    scorer = _in_thread(lambda: leads_score(lead_ids=[lead.pk]), pid=scorer_pid, done=scored, errors=errors)
    # The re-score waits on the rep's row lock rather than writing a stale copy of the row.
    assert _until_blocked_or_done(scorer_pid, scored) == "blocked"
    release.set()
    rep.join(10)
    scorer.join(10)
    assert not errors
    lead.refresh_from_db()
    assert lead.title == "Head of Analytics"
    assert (lead.score_fit, lead.grade) == (30, "C")


@pytest.mark.django_db(transaction=True)
def test_edit_racing_the_dirty_lead_scorer_neither_deadlocks_nor_loses_the_edit(migrated_data, marketer):
    lead = LeadFactory(title="Analyst", company_name="Acme", authority="decision_maker", employees=500)
    ScoreDirty.objects.create(lead_id=lead.pk)  # new activity is waiting to be scored
    locked, go_on = threading.Event(), threading.Event()
    edit_pid, edit_done, scorer_pid, scorer_done, errors = [], threading.Event(), [], threading.Event(), []

    def edit():
        # The edit holds the lead's row lock before it writes the lead and its dirty mark, as a PATCH does.
        with transaction.atomic():
            Lead.objects.select_for_update().get(pk=lead.pk)
            locked.set()
            assert go_on.wait(10)
            lead_update(lead=lead, by=marketer, changes={"title": "Head of Analytics"})

    editor = _in_thread(edit, pid=edit_pid, done=edit_done, errors=errors)
    assert locked.wait(10)
    scorer = _in_thread(score_dirty_process, pid=scorer_pid, done=scorer_done, errors=errors)
    # Before the fix the scorer had deleted the dirty mark and now waited for the lead; the edit's own
    # dirty mark then waited for the scorer: "deadlock detected". Now the scorer leaves a locked lead for
    # its next run.
    _until_blocked_or_done(scorer_pid, scorer_done)
    go_on.set()
    editor.join(15)
    scorer.join(15)
    assert not errors
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.title == "Head of Analytics"
    assert (lead.score_fit, lead.grade) == (30, "C")
    assert not ScoreDirty.objects.filter(lead_id=lead.pk).exists()
