"""The default definition's engagement rules score events sent through POST /api/events/.

An activity's payload is flat: an event's properties sit at its top level, where a rule's payload key
is looked up by the Python engine, the SQL scorer, the simulation and the rule editor alike.
"""

from __future__ import annotations

import importlib
import json

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from leadops.errors import ApplicationError
from leads.models import Activity, Event, EventType, Lead
from leads.services import events as events_service
from scoring.defaults import ENGAGEMENT_RULES
from scoring.models import EngagementRule, ScoreDirty
from scoring.selectors import lead_score_explain, simulation_run
from scoring.services import engagement_rule_create, leads_score, rule_points_set, score_dirty_process
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# (event type, properties, the engagement points each rule gives one fresh event).
CASES = [
    ("web_visit", {"url": "https://www.example.com/Pricing?plan=team"}, {"Visited pricing": 10, "Web visit": 1}),
    ("web_visit", {"url": "/product"}, {"Web visit": 1}),
    ("form_fill", {"form": "contact"}, {"Form filled": 15}),
    ("email_click", {"url": "https://www.example.com/guide"}, {"Email click": 3}),
    ("download", {"asset": "guide.pdf"}, {"Content download": 8}),
    ("webinar", {"title": "Scoring 101"}, {"Webinar attended": 12}),
]


@pytest.fixture
def api(client, marketer, monkeypatch):
    # Processing is called directly below; no broker in these tests.
    monkeypatch.setattr(events_service, "events_hand_over", lambda *, event_ids: True)
    client.force_login(marketer)
    return client


def send_and_process(client, event: dict) -> Lead:
    response = client.post("/api/events/", data=json.dumps(event), content_type="application/json")
    assert response.status_code == 202, response.content
    events_service.events_process(event_ids=list(Event.objects.values_list("pk", flat=True)))
    return Lead.objects.get(email=event["email"])


def test_every_default_engagement_rule_the_api_can_feed_is_tested_here():
    api_kinds = set(EventType.values)
    labels = {label for label, kind, *_ in ENGAGEMENT_RULES if kind in api_kinds}
    assert {label for *_, points in CASES for label in points} == labels


@pytest.mark.parametrize(("kind", "properties", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_default_engagement_rules_score_an_event_sent_through_the_api(active_uld, api, kind, properties, expected):
    lead = send_and_process(api, {"id": "e-1", "type": kind, "email": "visitor@example.com", "properties": properties})

    leads_score(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (lead.score_fit, lead.score_engagement) == (0, sum(expected.values()))
    explanation = lead_score_explain(lead=lead)
    engagement = {c.label: c.points for c in explanation.result.contributions if c.kind == "engagement"}
    assert engagement == expected
    assert explanation.is_current


def test_an_event_activity_holds_its_properties_at_the_top_level_of_the_payload(active_uld, api):
    lead = send_and_process(
        api, {"id": "v-9", "type": "web_visit", "email": "visitor@example.com", "properties": {"url": "/pricing"}}
    )
    activity = Activity.objects.get(lead=lead)
    event = Event.objects.get()
    assert activity.payload == {"url": "/pricing", "event": str(event.uuid), "id": "v-9"}
    assert event.properties == {"url": "/pricing"}


def test_the_simulation_scores_a_pricing_visit_sent_through_the_api(active_uld, draft, marketer, api):
    send_and_process(
        api, {"id": "p-1", "type": "web_visit", "email": "visitor@example.com", "properties": {"url": "/pricing"}}
    )
    pricing = EngagementRule.objects.get(uld_version=draft, label="Visited pricing")
    rule_points_set(rule=pricing, by=marketer, points=30)

    # Active: 10 + 1 = 11 points, a D. Draft: 30 (its cap) + 1 = 31, a C.
    simulation = simulation_run(draft=draft, user=marketer)
    assert (simulation.grades_active["D"], simulation.grades_draft["C"], simulation.changed) == (1, 1, 1)


def test_a_rule_editor_key_nested_under_properties_is_refused_with_the_key_to_use(draft, marketer):
    with pytest.raises(ApplicationError, match="“url”"):
        engagement_rule_create(
            version=draft,
            by=marketer,
            label="Pricing again",
            kind="web_visit",
            payload_key="properties.url",
            payload_operator="contains",
            payload_value="/pricing",
            points=5,
        )
    assert not EngagementRule.objects.filter(uld_version=draft, label="Pricing again").exists()


MIGRATION = "0005_flatten_event_activity_payloads"


def test_the_migration_moves_stored_event_properties_to_the_top_level_and_marks_their_leads(active_uld):
    lead = LeadFactory(email="visitor@example.com")
    nested = {"event": "0b9c6f7e-5a1d-4c36-9d8e-3f1e2a7b6c5d", "id": "v-1", "properties": {"url": "/pricing"}}
    visit = Activity.objects.create(lead=lead, kind="web_visit", source="api", payload=nested)
    note = Activity.objects.create(lead=lead, kind="note", source="user", payload={"properties": {"url": "/x"}})
    ScoreDirty.objects.all().delete()
    migration = importlib.import_module(f"scoring.migrations.{MIGRATION}")
    apps = MigrationLoader(connection).project_state(("scoring", MIGRATION)).apps

    migration.flatten(apps, None)
    visit.refresh_from_db()
    note.refresh_from_db()
    assert visit.payload == {"url": "/pricing", "event": nested["event"], "id": "v-1"}
    assert note.payload == {"properties": {"url": "/x"}}
    assert set(ScoreDirty.objects.values_list("lead_id", flat=True)) == {lead.pk}
    score_dirty_process()
    lead.refresh_from_db()
    assert lead.score_engagement == 11

    migration.nest(apps, None)
    visit.refresh_from_db()
    assert visit.payload == nested
