"""How leads are locked: FOR NO KEY UPDATE everywhere, so adding a child row never deadlocks with a lock.

A lead's primary key never changes, so no writer needs FOR UPDATE on it. A child row (an activity, a
delivery, a stage change, a log) share-locks its lead for its foreign key (FOR KEY SHARE, when its
transaction commits: Django declares foreign keys deferred), which FOR UPDATE blocks and FOR NO KEY
UPDATE does not: a writer holding a lead FOR UPDATE and waiting for a row that such a transaction holds
deadlocked with it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Activity, AssignmentRule, Lead, RuleField
from leads.models.activity import ActivityKind
from leads.services.activities import activity_record
from leads.services.assignment import lead_assign_auto, lead_claim, leads_reassign
from leads.services.lead_edit import lead_update
from leads.services.lifecycle import lead_stage_change
from leads.services.queue import lead_follow_up_schedule
from leads.services.reminders import lead_reclaim
from nurture.services.enrolment import enrolment_create_by_hand
from scoring.models import ScoreDirty
from scoring.services import leads_score, score_dirty_process
from tests.concurrency_support import in_thread, until_blocked_or_done
from tests.factories import LeadFactory
from tests.nurture.conftest import three_step_track

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row lock modes are PostgreSQL's")

LEAD_TABLE = Lead._meta.db_table
# A row-lock clause and the tables it names (`OF ...`); FOR NO KEY UPDATE and the share modes are allowed.
FOR_UPDATE = re.compile(r"(?<!NO KEY )FOR UPDATE(?: OF ((?:\"?\w+\"?(?:, )?)+))?")


def _locks_lead_for_update(sql: str) -> bool:
    """Whether `sql` takes a FOR UPDATE row lock on leads (itself, or through a join it does not exclude)."""
    aliases = {LEAD_TABLE} | set(re.findall(rf"\b{LEAD_TABLE}\"? (?:AS )?\"?(\w+)\"?", sql))
    aliases -= {"WHERE", "ON", "JOIN", "INNER", "LEFT", "ORDER", "FOR", "LIMIT", "USING", "SET"}
    for match in FOR_UPDATE.finditer(sql):
        named = match.group(1)
        if named:
            if any(name.strip('"') in aliases for name in named.split(", ")):
                return True
        elif re.search(rf"\b{LEAD_TABLE}\b", sql):
            return True
    return False


def _hot_lead(**fields) -> Lead:
    """A lead the default definition grades A once it fills a form (so a re-score hands it to sales)."""
    values = {
        "title": "VP Engineering",
        "company_name": "Acme",
        "authority": "decision_maker",
        "employees": 500,
        "industry": "software",
        "timeframe": "now",
        "budget": Decimal("50000"),
    }
    return LeadFactory(**(values | fields))


def _rescore_hands_off(**_):
    lead = _hot_lead()
    activity_record(lead=lead, kind=ActivityKind.FORM_FILL, payload={"form": "demo"})
    leads_score(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def _dirty_scorer_hands_off(**_):
    lead = _hot_lead()
    activity_record(lead=lead, kind=ActivityKind.FORM_FILL, payload={"form": "demo"})
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def _edit(*, marketer, **_):
    lead_update(lead=LeadFactory(), by=marketer, changes={"title": "CTO"})


def _stage_change(**_):
    lead_stage_change(lead=LeadFactory(stage=Stage.INQUIRY), to_stage=Stage.NURTURE, reason="test")


def _queue_action(*, alice, **_):
    lead = LeadFactory(stage=Stage.SAL, owner=alice)
    lead_follow_up_schedule(lead=lead, by=alice, at=timezone.now() + dt.timedelta(days=1))


def _assign_auto(*, alice, team_east, **_):
    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    assert lead_assign_auto(lead=LeadFactory(stage=Stage.INQUIRY)) == alice


def _claim(*, alice, **_):
    lead_claim(lead=LeadFactory(stage=Stage.INQUIRY), by=alice)


def _reassign(*, alice, bob, manager, **_):
    assert leads_reassign(lead_ids=[LeadFactory(stage=Stage.SAL, owner=alice).pk], to_user=bob, by=manager) == 1


def _reclaim(*, alice, **_):
    now = timezone.now()
    lead = LeadFactory(
        stage=Stage.SAL,
        owner=alice,
        assigned_at=now - dt.timedelta(days=3),
        first_touch_due_at=now - dt.timedelta(days=2),
    )
    assert lead_reclaim(lead_id=lead.pk, before=now, now=now)


def _enrol(*, marketer, **_):
    track = three_step_track(by=marketer)
    enrolment_create_by_hand(lead=LeadFactory(stage=Stage.INQUIRY), track=track, by=marketer)


@pytest.mark.parametrize(
    "service",
    [
        _rescore_hands_off,
        _dirty_scorer_hands_off,
        _edit,
        _stage_change,
        _queue_action,
        _assign_auto,
        _claim,
        _reassign,
        _reclaim,
        _enrol,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_services_lock_leads_for_no_key_update_never_for_update(service, db, marketer, alice, bob, manager, team_east):
    with CaptureQueriesContext(connection) as captured:
        service(marketer=marketer, alice=alice, bob=bob, manager=manager, team_east=team_east)
    locks = [q["sql"] for q in captured.captured_queries if "FOR " in q["sql"] and LEAD_TABLE in q["sql"]]
    assert locks, "the service took no lock on a lead: the case no longer tests anything"
    assert [sql for sql in locks if _locks_lead_for_update(sql)] == []


def test_the_lock_check_recognises_a_plain_for_update_on_leads():
    assert _locks_lead_for_update(f'SELECT "{LEAD_TABLE}"."id" FROM "{LEAD_TABLE}" WHERE "id" = 1 FOR UPDATE')
    assert _locks_lead_for_update(f'SELECT * FROM "{LEAD_TABLE}" WHERE "id" = 1 FOR UPDATE OF "{LEAD_TABLE}"')
    assert _locks_lead_for_update(f"SELECT l.id FROM {LEAD_TABLE} l ORDER BY l.id FOR UPDATE OF l SKIP LOCKED")
    assert not _locks_lead_for_update(f'SELECT * FROM "{LEAD_TABLE}" WHERE "id" = 1 FOR NO KEY UPDATE')
    assert not _locks_lead_for_update(
        f'SELECT * FROM "leads_teamroundrobin" INNER JOIN "{LEAD_TABLE}" ON 1=1 FOR UPDATE OF "leads_teamroundrobin"'
    )


@pytest.mark.django_db(transaction=True)
def test_edit_racing_a_new_activity_on_the_same_lead_neither_deadlocks_nor_loses_either(migrated_data, marketer):
    lead = LeadFactory(title="Analyst")
    recorded, go_on = threading.Event(), threading.Event()
    writer_pid, writer_done, edit_pid, edit_done, errors = [], threading.Event(), [], threading.Event(), []

    def activity_recorded():
        # The activity's trigger marks the lead dirty (a new row until this commits); its foreign key
        # (deferred, as Django declares them) share-locks the lead (FOR KEY SHARE) at commit.
        with transaction.atomic():
            activity_record(lead=lead, kind=ActivityKind.NOTE, payload={"text": "asked for pricing"})
            recorded.set()
            assert go_on.wait(10)

    writer = in_thread(activity_recorded, pid=writer_pid, done=writer_done, errors=errors)
    assert recorded.wait(10)
    editor = in_thread(
        lambda: lead_update(lead=lead, by=marketer, changes={"title": "Head of Analytics"}),
        pid=edit_pid,
        done=edit_done,
        errors=errors,
    )
    # The edit locks the lead, writes it and adds its own dirty mark without waiting: marks are append-only,
    # so it no longer waits on the activity's uncommitted mark for the same lead.
    assert until_blocked_or_done(edit_pid, edit_done) == "done"
    go_on.set()
    writer.join(15)
    editor.join(15)
    # Before the fix the edit held the lead FOR UPDATE, so the activity's commit waited for its KEY SHARE
    # while the edit waited for the activity's mark: "deadlock detected".
    assert not errors
    lead.refresh_from_db()
    assert lead.title == "Head of Analytics"
    assert Activity.objects.filter(lead=lead, kind=ActivityKind.NOTE).count() == 1
    assert ScoreDirty.objects.filter(lead_id=lead.pk).count() == 2
