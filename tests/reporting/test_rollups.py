"""The rollups give exactly what the raw log gives: after a rebuild, after incremental refreshes, always."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadops.celery import app as celery_app
from leads.lifecycle import Stage, allowed_targets
from leads.models import Lead, ULDVersion
from leads.services.activities import activity_record
from leads.services.lifecycle import lead_create, lead_stage_change
from reporting.filters import ReportFilters, ReportScope
from reporting.models import FunnelDailyCohort, FunnelDailyFlow, LeadFunnelFact, RollupDirtyLead, RollupState
from reporting.selectors import RAW, ROLLUPS
from reporting.services import rollups_mark_dirty, rollups_rebuild, rollups_refresh
from reporting.tasks import rollups_refresh_task
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
EVERYONE = ReportScope(owner_ids=None, sees_costs=True)
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _answers(source, filters: ReportFilters, owners=None) -> dict:
    return {
        "flow": source.flow(filters, owners),
        "amounts": source.amounts(filters, owners),
        "cohort": source.cohort(filters, owners),
        "velocity": source.velocity(filters, owners),
        "alignment": source.alignment(filters, owners),
        "first_touch": source.first_touch_overall(filters, owners),
        "win_rates": source.win_rates(filters, owners),
        "win_rates_by_version": source.win_rates_by_version(filters, owners),
        "open": source.open_pipeline(filters, owners),
    }


def _assert_same(filters: ReportFilters, owners=None) -> None:
    assert _answers(ROLLUPS, filters, owners) == _answers(RAW, filters, owners)


def _rows():
    def values(model):
        return sorted(model.objects.values_list(*[f.attname for f in model._meta.fields if f.name != "id"]))

    return values(FunnelDailyFlow), values(FunnelDailyCohort), values(LeadFunnelFact)


MARCH = ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))


def test_refresh_after_each_change_equals_a_rebuild_and_the_raw_log(march, alice):
    rollups_refresh()
    _assert_same(MARCH)
    lead = march["leads"][1]
    lead_stage_change(lead=lead, to_stage="sql", at=dt.datetime(2026, 3, 28, tzinfo=dt.UTC))
    activity_record(lead=lead, kind="call", by=alice, occurred_at=dt.datetime(2026, 3, 29, tzinfo=dt.UTC))
    rollups_refresh()
    _assert_same(MARCH)
    incremental = _rows()
    rollups_rebuild()
    assert _rows() == incremental


def test_refresh_twice_changes_nothing(march):
    rollups_refresh()
    first = _rows()
    rollups_mark_dirty(day=dt.date(2026, 3, 5), lead_ids=[march["leads"][0].pk])
    rollups_refresh()
    assert _rows() == first


def test_an_edit_without_a_stage_change_is_picked_up_once_marked(march):
    rollups_refresh()
    l1 = march["leads"][0]
    Lead.objects.filter(pk=l1.pk).update(source_channel="referral")
    assert ROLLUPS.cohort(MARCH, None) != RAW.cohort(MARCH, None)
    rollups_mark_dirty(lead_ids=[l1.pk], all_days=True)
    assert RollupDirtyLead.objects.filter(lead_id=l1.pk).exists()
    rollups_refresh()
    _assert_same(MARCH)
    assert not RollupDirtyLead.objects.exists()


def test_catch_up_needs_no_marks_and_moves_the_watermark(march):
    result = rollups_refresh()
    assert result.leads == 7
    state = RollupState.objects.get()
    assert state.stage_change_watermark > 0
    lead = march["leads"][5]
    lead_stage_change(lead=lead, to_stage="mql", at=dt.datetime(2026, 3, 21, tzinfo=dt.UTC))
    rollups_refresh()
    assert {s.stage: s.entries for s in ROLLUPS.flow(MARCH, None) if s.day == dt.date(2026, 3, 21)} == {"mql": 1}


def test_deleted_lead_leaves_its_cohort_day(march):
    rollups_refresh()
    l6 = march["leads"][5]
    Lead.objects.filter(pk=l6.pk).delete()
    rollups_mark_dirty(lead_ids=[l6.pk], all_days=True)
    rollups_refresh()
    _assert_same(MARCH)


def test_beat_runs_the_refresh_task_and_the_task_refreshes(march):
    entry = celery_app.conf.beat_schedule["reporting-rollups-refresh"]
    assert entry["task"] == rollups_refresh_task.name
    result = rollups_refresh_task.apply().get()
    assert result["leads"] == 7
    assert FunnelDailyFlow.objects.exists()


# Generated histories -----------------------------------------------------------------------------------

touch = st.tuples(st.integers(0, 30 * 24), st.sampled_from(["call", "email_sent", "meeting", "web_visit"]))
move = st.tuples(
    st.integers(1, 5 * 24),  # hours after the previous move
    st.integers(0, 5),  # which allowed target
    st.sampled_from([None, "keep", 0, 1, 2]),  # owner change
    st.one_of(st.none(), st.integers(0, 50_000)),  # deal amount
)
lead_history = st.fixed_dictionaries(
    {
        "created": st.integers(0, 25 * 24),
        "source": st.sampled_from(["inbound", "outbound", "event", "nurture"]),
        "campaign": st.sampled_from([None, 0, 1]),
        "owner": st.sampled_from([None, 0, 1, 2]),
        "moves": st.lists(move, max_size=7),
        "touches": st.lists(touch, max_size=3),
        "refresh_after": st.booleans(),
        # Which ULD version qualifies the lead when it becomes an MQL (None: none recorded).
        "version": st.sampled_from([None, 0, 1]),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=st.lists(lead_history, min_size=1, max_size=6))
def test_rollups_equal_the_raw_log_for_any_history(alice, bob, charlie, histories):
    people = [alice, bob, charlie]
    with transaction.atomic():
        campaigns = [CampaignFactory(cost=Decimal("100")), CampaignFactory(cost=Decimal("0"))]
        versions = [ULDVersion.objects.create(number=901), ULDVersion.objects.create(number=902)]
        for n, history in enumerate(histories):
            at = START + dt.timedelta(hours=history["created"])
            owner = None if history["owner"] is None else people[history["owner"]]
            campaign = None if history["campaign"] is None else campaigns[history["campaign"]]
            lead = lead_create(
                email=f"gen{n}@example.com", source_channel=history["source"], campaign=campaign, owner=owner, at=at
            )
            for hours, pick, new_owner, amount in history["moves"]:
                targets = allowed_targets(lead.stage)
                if not targets:
                    break
                at += dt.timedelta(hours=hours)
                changes = {}
                if new_owner is not None and new_owner != "keep":
                    changes["owner"] = people[new_owner]
                if amount is not None:
                    changes["deal_amount"] = Decimal(amount)
                to_stage = targets[pick % len(targets)]
                if to_stage == Stage.MQL and history["version"] is not None:
                    changes["qualified_uld_version"] = versions[history["version"]]
                lead = lead_stage_change(lead=lead, to_stage=to_stage, at=at, changes=changes)
            for hours, kind in history["touches"]:
                activity_record(lead=lead, kind=kind, occurred_at=START + dt.timedelta(hours=hours))
            if history["refresh_after"]:
                rollups_refresh()
        rollups_refresh()
        for filters in (
            ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 5, 31)),
            ReportFilters(start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 20), source_channel="inbound"),
            ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 15), campaign_id=campaigns[0].pk),
            ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 5, 31), uld_version_id=versions[0].pk),
            ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 5, 31), uld_version_id=0),
        ):
            _assert_same(filters)
            _assert_same(filters, frozenset({alice.pk, 0}))
        transaction.set_rollback(True)


def test_a_log_row_committed_late_below_the_watermark_is_still_found(march):
    rollups_refresh()
    state = RollupState.objects.get()
    # As if ids top+1..top+3 were taken by a transaction still open while a later id was read.
    top = state.stage_change_watermark
    RollupState.objects.filter(pk=state.pk).update(stage_change_watermark=top + 3, stage_change_gaps=[top + 1, top + 2])
    lead = march["leads"][5]
    lead_stage_change(lead=lead, to_stage="mql", at=dt.datetime(2026, 3, 22, tzinfo=dt.UTC))
    assert lead.stage_changes.order_by("-id").first().id == top + 1
    rollups_refresh()
    _assert_same(MARCH)
    assert RollupState.objects.get().stage_change_gaps == [top + 2]


def test_qualifying_under_a_version_moves_the_leads_earlier_days_to_that_version(march):
    rollups_refresh()
    version = ULDVersion.objects.create(number=7)
    l6 = march["leads"][5]
    lead_stage_change(
        lead=l6,
        to_stage=Stage.MQL,
        at=dt.datetime(2026, 3, 22, tzinfo=dt.UTC),
        changes={"qualified_uld_version": version},
    )
    rollups_refresh()
    by_version = ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), uld_version_id=version.pk)
    flow = ROLLUPS.flow(by_version, None)
    # The inquiry on the 20th (refreshed before it qualified) and the MQL entry on the 22nd.
    assert [(r.day.day, r.stage, r.entries) for r in flow] == [(20, "inquiry", 1), (22, "mql", 1)]
    _assert_same(by_version)
    _assert_same(ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), uld_version_id=0))
    before = _rows()
    rollups_rebuild()
    assert _rows() == before
