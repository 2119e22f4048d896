"""Dirty marks are append-only: every writer adds a mark, the scorer deletes the marks it sees."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leads.models.activity import ActivityKind
from leads.services.activities import activity_record
from leads.services.lead_edit import lead_update
from scoring.models import ScoreDirty
from scoring.services import score_dirty_process
from tests.factories import LeadFactory

BEFORE = ("scoring", "0005_flatten_event_activity_payloads")
APPEND_ONLY = ("scoring", "0006_append_only_dirty_marks")


def test_new_activity_adds_a_mark_even_when_the_lead_already_has_one(active_uld):
    lead = LeadFactory()
    ScoreDirty.objects.all().delete()
    ScoreDirty.objects.create(lead_id=lead.pk)
    activity_record(lead=lead, kind=ActivityKind.WEB_VISIT, payload={"url": "/pricing"})
    assert ScoreDirty.objects.filter(lead_id=lead.pk).count() == 2


def test_lead_edit_adds_a_mark_even_when_the_lead_already_has_one(active_uld, marketer):
    lead = LeadFactory(title="Analyst")
    ScoreDirty.objects.all().delete()
    ScoreDirty.objects.create(lead_id=lead.pk)
    lead_update(lead=lead, by=marketer, changes={"title": "Head of Analytics"})
    assert ScoreDirty.objects.filter(lead_id=lead.pk).count() == 2


def test_dirty_scorer_takes_a_batch_of_leads_and_deletes_every_mark_of_each(active_uld):
    first, second = sorted([LeadFactory(), LeadFactory()], key=lambda lead: lead.pk)
    ScoreDirty.objects.all().delete()
    for lead in (first, first, first, second, second):
        ScoreDirty.objects.create(lead_id=lead.pk)
    score_dirty_process(batch_size=1, max_batches=1)
    # A batch counts leads, not marks: the first lead and all its marks, the second untouched.
    assert list(ScoreDirty.objects.values_list("lead_id", flat=True).distinct()) == [second.pk]
    assert ScoreDirty.objects.count() == 2
    score_dirty_process()
    assert not ScoreDirty.objects.exists()


def _marks(apps) -> list[tuple[int, str]]:
    model = apps.get_model("scoring", "ScoreDirty")
    return sorted(
        (lead_id, marked_at.isoformat()) for lead_id, marked_at in model.objects.values_list("lead_id", "marked_at")
    )


def _migrate(executor: MigrationExecutor, target) -> None:
    executor.loader.build_graph()  # what is applied now
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)
def test_migrating_to_append_only_marks_keeps_pending_marks_and_back_keeps_one_per_lead(migrated_data):
    marked, other = LeadFactory(), LeadFactory()
    ScoreDirty.objects.all().delete()
    executor = MigrationExecutor(connection)
    try:
        _migrate(executor, BEFORE)
        old_apps = executor.loader.project_state(BEFORE).apps
        old_model = old_apps.get_model("scoring", "ScoreDirty")
        old_model.objects.create(lead_id=marked.pk)
        old_model.objects.create(lead_id=other.pk)
        pending = _marks(old_apps)

        _migrate(executor, APPEND_ONLY)
        new_apps = executor.loader.project_state(APPEND_ONLY).apps
        assert _marks(new_apps) == pending
        # The trigger and a plain insert now add marks beside the pending one.
        activity_record(lead=marked, kind=ActivityKind.WEB_VISIT, payload={"url": "/pricing"})
        new_apps.get_model("scoring", "ScoreDirty").objects.create(lead_id=marked.pk)
        assert sorted(ScoreDirty.objects.values_list("lead_id", flat=True)) == [marked.pk] * 3 + [other.pk]

        _migrate(executor, BEFORE)
        assert sorted(old_model.objects.values_list("lead_id", flat=True)) == sorted([marked.pk, other.pk])
        # The restored trigger adds nothing for a lead that has its mark.
        activity_record(lead=other, kind=ActivityKind.WEB_VISIT, payload={"url": "/pricing"})
        assert old_model.objects.filter(lead_id=other.pk).count() == 1
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
