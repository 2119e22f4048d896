"""SLA compliance, touches before "no response", rejection reasons and win rate by ULD version, by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting.filters import ReportFilters, ReportScope
from reporting.selectors import RAW, ROLLUPS, alignment_report
from reporting.services import rollups_rebuild
from reporting.tables import alignment_tables

pytestmark = pytest.mark.django_db
EVERYONE = ReportScope(owner_ids=None, sees_costs=True)
MARCH = ReportFilters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), period="custom")
NOW = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
SOURCES = pytest.mark.parametrize("source", [ROLLUPS, RAW], ids=["rollups", "raw"])


@pytest.fixture
def rebuilt(queue_march):
    # The fixture set ULD versions with plain updates, which nothing marks: rebuild to include them.
    rollups_rebuild()
    return queue_march


@pytest.fixture
def named_reps(alice, bob, charlie):
    """Give the reps fixed, distinct display names: the factory's random ones can repeat (two Thomas Fullers)."""
    for user, first, last in ((alice, "Alice", "Archer"), (bob, "Bob", "Baker"), (charlie, "Charlie", "Clark")):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])


def _sla(line) -> tuple:
    return line.met, line.breached, line.pending, None if line.compliance is None else round(line.compliance, 3)


def test_sla_compliance_per_rep_and_team(rebuilt, named_reps):
    report = alignment_report(filters=MARCH, scope=EVERYONE, now=NOW)
    assert _sla(report.sla_total) == (3, 2, 1, 0.6)
    # Lists, not dicts keyed by label: two lines with one label must fail here, not merge.
    assert [(line.label, _sla(line)) for line in report.sla_by_rep] == [
        ("Alice Archer", (2, 1, 0, 0.667)),
        ("Bob Baker", (0, 1, 1, 0.0)),
        ("Charlie Clark", (1, 0, 0, 1.0)),
    ]
    assert [(line.label, _sla(line)) for line in report.sla_by_team] == [
        ("East", (2, 2, 1, 0.5)),
        ("West", (1, 0, 0, 1.0)),
    ]


def test_sla_untouched_lead_is_pending_until_due_then_breached(rebuilt, bob):
    later = dt.datetime(2026, 3, 31, 21, tzinfo=dt.UTC)
    report = alignment_report(filters=MARCH, scope=ReportScope(frozenset({bob.pk}), False), now=later)
    assert _sla(report.sla_total) == (0, 2, 0, 0.0)


def test_sla_follows_the_uld_version_filter_and_the_readers_scope(rebuilt, named_reps, alice, manager):
    v1 = rebuilt["versions"][0]
    by_v1 = ReportFilters(start=MARCH.start, end=MARCH.end, uld_version_id=v1.pk)
    assert _sla(alignment_report(filters=by_v1, scope=EVERYONE, now=NOW).sla_total) == (1, 1, 0, 0.5)
    own = alignment_report(filters=MARCH, scope=ReportScope(frozenset({alice.pk}), False), now=NOW)
    assert [line.label for line in own.sla_by_rep] == ["Alice Archer"]
    team = alignment_report(filters=MARCH, scope=ReportScope(frozenset({alice.pk, manager.pk, 0}), True), now=NOW)
    assert [line.label for line in team.sla_by_team] == ["East"]


def test_touches_before_no_response_are_counted_from_activities_before_the_move(rebuilt, alice):
    report = alignment_report(filters=MARCH, scope=EVERYONE, now=NOW)
    assert [(b.label, b.leads, b.share) for b in report.no_response] == [
        ("0–4", 1, 0.5),
        ("5–7", 0, 0.0),
        ("8–10", 1, 0.5),
        ("11–15", 0, 0.0),
        ("16 or more", 0, 0.0),
    ]
    mine = alignment_report(filters=MARCH, scope=ReportScope(frozenset({alice.pk}), False), now=NOW)
    assert [b.leads for b in mine.no_response] == [0, 0, 0, 0, 0]
    assert all(b.share is None for b in mine.no_response)


def test_rejection_reasons_by_campaign_and_source(rebuilt, alice):
    report = alignment_report(filters=MARCH, scope=EVERYONE, now=NOW)
    assert report.rejections.reasons == ["No budget", "Not our kind of customer"]
    assert report.rejections.by_campaign == [("Expo", [1, 0]), ("Webinar", [1, 1])]
    assert report.rejections.by_source == [("Event", [1, 0]), ("Inbound", [1, 1])]
    mine = alignment_report(filters=MARCH, scope=ReportScope(frozenset({alice.pk}), False), now=NOW)
    assert mine.rejections.by_campaign == [("Expo", [1, 0]), ("Webinar", [0, 1])]
    tables = {t.id: t for t in alignment_tables(report)}
    assert tables["rejections_campaign"].columns == ["Campaign", "No budget", "Not our kind of customer", "Total"]
    assert tables["rejections_campaign"].rows == [["Expo", 1, 0, 1], ["Webinar", 1, 1, 2]]


@SOURCES
def test_win_rate_by_uld_version(rebuilt, source):
    report = alignment_report(filters=MARCH, scope=EVERYONE, source=source, now=NOW)
    assert [(g.grade, g.won, g.lost, g.win_rate) for g in report.by_version] == [
        ("Version 11", 1, 1, 0.5),
        ("Version 12", 1, 0, 1.0),
    ]
    v2 = rebuilt["versions"][1]
    only_v2 = ReportFilters(start=MARCH.start, end=MARCH.end, uld_version_id=v2.pk)
    report = alignment_report(filters=only_v2, scope=EVERYONE, source=source, now=NOW)
    assert [(g.grade, g.won, g.lost) for g in report.by_version] == [("Version 12", 1, 0)]
    assert [(g.grade, g.won, g.lost) for g in report.by_grade] == [("B", 1, 0)]
