from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Lead, RoutingDecision, StageChange, ULDStatus
from leads.selectors_uld import mql_counts_by_version
from leads.services.activities import activity_record
from scoring import services
from scoring.models import RescoreChunk, RescoreRun, ScoreDirty, ScoreHistory
from scoring.services import leads_score, rescore_chunk_process, rescore_run_start, score_dirty_process
from tests.factories import LeadFactory


def hot_lead(**overrides) -> Lead:
    """A lead the default definition grades A on fit alone once it fills a form."""
    fields = {
        "title": "VP Engineering",
        "company_name": "Acme",
        "authority": "decision_maker",
        "employees": 500,
        "industry": "software",
        "timeframe": "now",
        "budget": Decimal("50000"),
    }
    return LeadFactory(**(fields | overrides))


@pytest.fixture
def run_chunks_inline(monkeypatch):
    """Run enqueued chunks in-process; the broker path itself is exercised by the benchmark's worker."""
    monkeypatch.setattr(
        "scoring.tasks.rescore_chunk.delay", lambda chunk_id: services.rescore_chunk_process(chunk_id=chunk_id)
    )


def test_leads_score_writes_changed_scores_only(active_uld):
    lead = hot_lead()
    assert leads_score(lead_ids=[lead.pk]) == 1
    lead.refresh_from_db()
    assert (lead.score_fit, lead.score_engagement, lead.score) == (67, 0, 67)
    assert lead.grade == "B" and lead.scored_at is not None
    assert leads_score(lead_ids=[lead.pk]) == 0


def test_crossing_into_sales_ready_makes_an_mql_and_records_routing(active_uld):
    lead = hot_lead()
    activity_record(lead=lead, kind="form_fill", payload={"form": "demo"})
    assert leads_score(lead_ids=[lead.pk]) == 1
    lead.refresh_from_db()
    assert lead.grade == "A" and lead.stage == Stage.MQL
    assert lead.qualified_uld_version == active_uld
    change = StageChange.objects.filter(lead=lead, to_stage=Stage.MQL).get()
    assert change.uld_version == active_uld
    decision = RoutingDecision.objects.get(lead=lead)
    assert (decision.route, decision.grade, decision.status) == ("sales_rep", "A", "pending")
    assert mql_counts_by_version() == {active_uld.number: 1}


def test_grade_a_without_the_required_facts_stays_an_inquiry(active_uld):
    lead = hot_lead(company_name="")
    activity_record(lead=lead, kind="form_fill")
    leads_score(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.grade == "A" and lead.stage == Stage.INQUIRY
    assert not RoutingDecision.objects.filter(lead=lead).exists()


def test_grade_changes_are_kept_in_score_history(active_uld):
    lead = hot_lead(company_name="")
    leads_score(lead_ids=[lead.pk])
    activity_record(lead=lead, kind="form_fill")
    leads_score(lead_ids=[lead.pk])
    history = list(ScoreHistory.objects.filter(lead=lead).values_list("previous_grade", "grade"))
    assert history == [("", "B"), ("B", "A")]


def test_new_activity_marks_the_lead_dirty_and_a_batch_scores_it(active_uld):
    lead = hot_lead()
    ScoreDirty.objects.all().delete()
    activity_record(lead=lead, kind="web_visit", payload={"url": "/pricing"})
    activity_record(lead=lead, kind="web_visit", payload={"url": "/pricing"})
    assert set(ScoreDirty.objects.values_list("lead_id", flat=True)) == {lead.pk}
    assert score_dirty_process() == 1
    lead.refresh_from_db()
    assert lead.score_engagement == 22
    assert not ScoreDirty.objects.exists()


def test_full_rescore_runs_in_chunks_and_records_progress(
    active_uld, run_chunks_inline, django_capture_on_commit_callbacks
):
    leads = [hot_lead() for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        run = rescore_run_start(reason="manual", chunk_size=2)
    run.refresh_from_db()
    assert run.chunks_total == 3 and run.chunks_done == 3
    assert run.leads_changed == 5 and run.status == RescoreRun.Status.FINISHED and run.finished_at
    assert {lead.grade for lead in Lead.objects.filter(pk__in=[x.pk for x in leads])} == {"B"}
    chunk = RescoreChunk.objects.filter(run=run).first()
    assert rescore_chunk_process(chunk_id=chunk.pk) == 0


def test_a_run_for_a_retired_version_stops(active_uld, django_capture_on_commit_callbacks):
    hot_lead()
    run = rescore_run_start(reason="manual")
    type(active_uld).objects.filter(pk=active_uld.pk).update(status=ULDStatus.RETIRED, retired_at=timezone.now())
    assert rescore_chunk_process(chunk_id=run.chunks.get().pk) == 0
    run.refresh_from_db()
    assert run.status == RescoreRun.Status.SUPERSEDED


def test_nightly_rescore_lets_engagement_fade(active_uld, run_chunks_inline, django_capture_on_commit_callbacks):
    lead = hot_lead(company_name="")
    activity_record(lead=lead, kind="form_fill", occurred_at=timezone.now() - dt.timedelta(days=1))
    leads_score(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.score_engagement == 15
    with django_capture_on_commit_callbacks(execute=True):
        rescore_run_start(reason="nightly", now=timezone.now() + dt.timedelta(days=60))
    lead.refresh_from_db()
    assert lead.score_engagement == 4


def test_tasks_run_through_celery_task_machinery(active_uld, django_capture_on_commit_callbacks):
    from scoring.tasks import rescore_chunk, score_dirty_leads

    lead = hot_lead()
    run = rescore_run_start(reason="manual")
    assert rescore_chunk.apply(args=[run.chunks.get().pk]).get() == 1
    activity_record(lead=lead, kind="form_fill")
    assert score_dirty_leads.apply().get() == 1
    run.refresh_from_db()
    assert run.status == RescoreRun.Status.FINISHED
