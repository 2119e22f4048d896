"""Re-scoring while a rep edits the lead: the edit stands, the score follows it, nothing deadlocks.

PostgreSQL row locks, with real threads on their own connections (tests.concurrency_support).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Lead
from leads.models.activity import ActivityKind
from leads.services.activities import activity_record
from leads.services.lead_edit import lead_update
from nurture.models import Delivery, ExitReason
from nurture.services.delivery import _claim
from nurture.services.enrolment import enrolment_create_by_hand
from scoring.models import ScoreDirty
from scoring.services import leads_score, score_dirty_process
from tests.concurrency_support import in_thread, until_blocked_or_done
from tests.factories import LeadFactory
from tests.nurture.conftest import three_step_track

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two PostgreSQL connections")


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

    rep = in_thread(rep_edits_title, pid=rep_pid, done=rep_done, errors=errors)
    assert edited.wait(10)
    scorer = in_thread(lambda: leads_score(lead_ids=[lead.pk]), pid=scorer_pid, done=scored, errors=errors)
    # The re-score waits on the rep's row lock rather than writing a stale copy of the row.
    assert until_blocked_or_done(scorer_pid, scored) == "blocked"
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
            Lead.objects.locked().get(pk=lead.pk)
            locked.set()
            assert go_on.wait(10)
            lead_update(lead=lead, by=marketer, changes={"title": "Head of Analytics"})

    editor = in_thread(edit, pid=edit_pid, done=edit_done, errors=errors)
    assert locked.wait(10)
    scorer = in_thread(score_dirty_process, pid=scorer_pid, done=scorer_done, errors=errors)
    # Before the fix the scorer had deleted the dirty mark and now waited for the lead; the edit's own
    # dirty mark then waited for the scorer: "deadlock detected". Now the scorer leaves a locked lead for
    # its next run.
    until_blocked_or_done(scorer_pid, scorer_done)
    go_on.set()
    editor.join(15)
    scorer.join(15)
    assert not errors
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.title == "Head of Analytics"
    assert (lead.score_fit, lead.grade) == (30, "C")
    assert not ScoreDirty.objects.filter(lead_id=lead.pk).exists()


def _sales_ready_once_scored() -> Lead:
    """A lead the default definition grades A once scored (fit and a demo request): the re-score hands it off."""
    lead = LeadFactory(
        title="VP Engineering",
        company_name="Acme",
        authority="decision_maker",
        employees=500,
        industry="software",
        timeframe="now",
        budget=Decimal("50000"),
    )
    activity_record(lead=lead, kind=ActivityKind.FORM_FILL, payload={"form": "demo"})
    return lead


@pytest.mark.django_db(transaction=True)
def test_nurture_step_claimed_while_a_rescore_hands_the_lead_to_sales_neither_deadlocks_nor_loses_a_write(
    migrated_data, marketer
):
    lead = _sales_ready_once_scored()
    enrolment = enrolment_create_by_hand(lead=lead, track=three_step_track(by=marketer), by=marketer)
    claimed, go_on = threading.Event(), threading.Event()
    step_pid, step_done, scorer_pid, scorer_done, errors = [], threading.Event(), [], threading.Event(), []

    def nurture_step_claimed():
        # The step's claim holds the enrolment and inserts a delivery for the lead; the delivery's foreign
        # key (deferred, as Django declares them) share-locks the lead (FOR KEY SHARE) when this commits.
        with transaction.atomic():
            assert _claim(enrolment_id=enrolment.pk, now=timezone.now()) is not None
            claimed.set()
            assert go_on.wait(10)

    step = in_thread(nurture_step_claimed, pid=step_pid, done=step_done, errors=errors)
    assert claimed.wait(10)
    scorer = in_thread(lambda: leads_score(lead_ids=[lead.pk]), pid=scorer_pid, done=scorer_done, errors=errors)
    # The hand-off locks the lead, moves it out of nurture and waits to end the enrolment the step holds.
    assert until_blocked_or_done(scorer_pid, scorer_done) == "blocked"
    go_on.set()
    step.join(15)
    scorer.join(15)
    # Before the fix the hand-off held the lead FOR UPDATE, so the step's commit waited for its KEY SHARE
    # while the hand-off waited for the step's enrolment: "deadlock detected". FOR NO KEY UPDATE lets the
    # step commit.
    assert not errors
    lead.refresh_from_db()
    assert (lead.grade, lead.stage) == ("A", Stage.MQL)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.exit_reason, enrolment.steps_done) == ("exited", ExitReason.SALES_READY, 1)
    assert Delivery.objects.filter(enrolment=enrolment).count() == 1


@pytest.mark.django_db(transaction=True)
def test_dirty_scorer_leaves_a_lead_whose_new_activity_is_uncommitted_marked_for_its_next_run(migrated_data):
    lead = _sales_ready_once_scored()
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    ScoreDirty.objects.create(lead_id=lead.pk)  # an earlier activity is still to be scored
    engagement = lead.score_engagement
    recorded, go_on = threading.Event(), threading.Event()
    pid, done, errors = [], threading.Event(), []

    def webinar_recorded():
        with transaction.atomic():
            activity_record(lead=lead, kind=ActivityKind.WEBINAR, payload={"webinar": "launch"})
            recorded.set()
            assert go_on.wait(10)

    writer = in_thread(webinar_recorded, pid=pid, done=done, errors=errors)
    assert recorded.wait(10)
    # The activity's foreign key share-locks the lead only at commit (deferred), so nothing stops the scorer
    # taking the lead and scoring it without the webinar it cannot see yet. It deletes only the marks it
    # sees: the writer's own mark, uncommitted, survives it. Before marks were append-only, the writer's
    # mark found the existing one and added nothing, so the scorer deleted the only mark the lead had.
    score_dirty_process()
    # It took the lead: the committed mark is gone, and the writer's is not visible here yet.
    assert not ScoreDirty.objects.filter(lead_id=lead.pk).exists()
    lead.refresh_from_db()
    assert lead.score_engagement == engagement
    go_on.set()
    writer.join(15)
    assert not errors
    assert ScoreDirty.objects.filter(lead_id=lead.pk).exists()
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.score_engagement > engagement
    assert not ScoreDirty.objects.filter(lead_id=lead.pk).exists()
