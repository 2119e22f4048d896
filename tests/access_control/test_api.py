"""Access control of the API (ASVS V8), by role, with named people.

alice and bob are reps on East (manager maria), charlie a rep on West, mark in marketing, erin an
executive, and an integration token that may only send events. Nobody reads or changes what is not
theirs (404, never a hint it exists), lists never leak, roles that do not work leads get 403, a token
without the scope gets 403, and no credentials is 401.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.lifecycle import Stage
from leads.models import Lead
from leads.selectors_uld import uld_active
from reporting.services import rollups_refresh
from tests.factories import APITokenFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db
PEOPLE = ["alice", "bob", "charlie", "manager", "marketer", "executive"]
EVERYONE = [*PEOPLE, "events_token", "anonymous"]


@pytest.fixture
def world(alice, bob, charlie, manager, marketer, executive):
    leads = {
        "alice": LeadFactory(owner=alice, stage=Stage.MQL),
        "bob": LeadFactory(owner=bob, stage=Stage.MQL),
        "charlie": LeadFactory(owner=charlie, stage=Stage.MQL),
        "pool": LeadFactory(stage=Stage.MQL),
    }
    people = {
        "alice": alice,
        "bob": bob,
        "charlie": charlie,
        "manager": manager,
        "marketer": marketer,
        "executive": executive,
    }
    return {"leads": leads, "people": people, "campaign": CampaignFactory(), "uld": uld_active()}


@pytest.fixture
def as_actor(world):
    def make(name: str) -> APIClient:
        client = APIClient()
        if name == "anonymous":
            return client
        if name == "events_token":
            token = APITokenFactory(user=world["people"]["marketer"], kind="integration", scopes=["events:write"])
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
            return client
        client.force_login(world["people"][name])
        return client

    return make


def expect(default: int, **by_actor: int) -> dict[str, int]:
    """Expected status per actor: the role-based default, with the events token 403 and anonymous 401."""
    return {**dict.fromkeys(PEOPLE, default), "events_token": 403, "anonymous": 401, **by_actor}


# Reading alice's lead: her, her manager and marketing; other reps get 404; executives read reports only.
READ_ALICE = expect(200, bob=404, charlie=404, executive=403)
LEAD_READS = ["/api/leads/{alice}/", "/api/leads/{alice}/score/", "/api/leads/{alice}/activities/"]


@pytest.mark.parametrize("path", LEAD_READS)
@pytest.mark.parametrize("actor", EVERYONE)
def test_reading_alices_lead(as_actor, world, path, actor):
    response = as_actor(actor).get(path.format(alice=world["leads"]["alice"].pk))
    assert response.status_code == READ_ALICE[actor], response.content


@pytest.mark.parametrize("actor", ["alice", "bob", "manager"])
def test_nobody_on_east_reads_wests_leads(as_actor, world, actor):
    assert as_actor(actor).get(f"/api/leads/{world['leads']['charlie'].pk}/").status_code == 404


@pytest.mark.parametrize(
    "actor, visible",
    [
        ("alice", {"alice"}),
        ("bob", {"bob"}),
        ("charlie", {"charlie"}),
        ("manager", {"alice", "bob", "pool"}),
        ("marketer", {"alice", "bob", "charlie", "pool"}),
    ],
)
def test_the_lead_list_shows_exactly_what_each_role_may_see(as_actor, world, actor, visible):
    ids = {row["id"] for row in as_actor(actor).get("/api/leads/", {"page_size": 200}).json()["results"]}
    assert ids == {world["leads"][name].pk for name in visible}


@pytest.mark.parametrize("actor", ["alice", "manager"])
def test_filtering_by_another_owner_does_not_widen_the_list(as_actor, world, actor):
    charlie = world["people"]["charlie"]
    assert as_actor(actor).get("/api/leads/", {"owner": charlie.pk}).json()["results"] == []


@pytest.mark.parametrize("actor", EVERYONE)
def test_the_lead_list_by_role(as_actor, world, actor):
    assert as_actor(actor).get("/api/leads/").status_code == expect(200, executive=403)[actor]


def _close_on() -> str:
    return (timezone.localdate() + dt.timedelta(days=30)).isoformat()


# Working alice's lead. Marketing may correct facts but not work the sales stage actions.
LEAD_WRITES = [
    ("patch", "/api/leads/{alice}/", {"title": "VP"}, expect(200, bob=404, charlie=404, executive=403)),
    (
        "post",
        "/api/leads/{alice}/accept/",
        {"expected_stage": "mql"},
        expect(200, bob=404, charlie=404, marketer=403, executive=403),
    ),
    (
        "post",
        "/api/leads/{alice}/reject/",
        {"reason": "bad_fit", "comment": "Not for us"},
        expect(200, bob=404, charlie=404, marketer=403, executive=403),
    ),
    (
        "post",
        "/api/leads/{alice}/activities/",
        {"channel": "call", "outcome": "connected"},
        expect(201, bob=404, charlie=404, marketer=403, executive=403),
    ),
    (
        "post",
        "/api/leads/{alice}/lost/",
        {"reason": "Went quiet"},
        # The lead is an MQL: alice and maria get past access control to the lifecycle's 400.
        expect(400, bob=404, charlie=404, marketer=403, executive=403),
    ),
]


@pytest.mark.parametrize("method, path, body, expected", LEAD_WRITES, ids=[w[1] for w in LEAD_WRITES])
@pytest.mark.parametrize("actor", EVERYONE)
def test_changing_alices_lead(as_actor, world, method, path, body, expected, actor):
    lead = world["leads"]["alice"]
    before = Lead.objects.values("stage", "title", "owner_id", "sales_touches").get(pk=lead.pk)
    response = getattr(as_actor(actor), method)(path.format(alice=lead.pk), body, format="json")
    assert response.status_code == expected[actor], response.content
    if response.status_code >= 400:
        assert Lead.objects.values("stage", "title", "owner_id", "sales_touches").get(pk=lead.pk) == before


@pytest.mark.parametrize("field, value", [("owner", "bob"), ("score", 100), ("grade", "A"), ("stage", "won")])
def test_a_rep_cannot_set_owner_score_grade_or_stage(as_actor, world, field, value):
    lead = world["leads"]["alice"]
    if value == "bob":
        value = world["people"]["bob"].pk
    response = as_actor("alice").patch(f"/api/leads/{lead.pk}/", {field: value}, format="json")
    assert response.status_code == 400 and field in response.json()
    lead.refresh_from_db()
    assert (lead.owner_id, lead.score, lead.grade, lead.stage) == (world["people"]["alice"].pk, 0, "", Stage.MQL)


def test_a_manager_cannot_move_a_lead_to_another_team(as_actor, world):
    lead = world["leads"]["alice"]
    response = as_actor("manager").patch(
        f"/api/leads/{lead.pk}/", {"owner": world["people"]["charlie"].pk}, format="json"
    )
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).owner == world["people"]["alice"]


@pytest.mark.parametrize("actor", EVERYONE)
def test_creating_a_lead_is_for_marketing(as_actor, world, actor):
    response = as_actor(actor).post("/api/leads/", {"email": f"{actor}@new.example"}, format="json")
    assert response.status_code == expect(403, marketer=201)[actor]
    assert Lead.objects.filter(email=f"{actor}@new.example").exists() == (actor == "marketer")


@pytest.mark.parametrize("path", ["/api/campaigns/", "/api/uld/active/", "/api/uld/versions/", "/api/schema/"])
@pytest.mark.parametrize("actor", EVERYONE)
def test_reference_data_is_for_every_role(as_actor, world, path, actor):
    # The schema is readable with any token; the rest need leads:read.
    events = 200 if path == "/api/schema/" else 403
    assert as_actor(actor).get(path).status_code == expect(200, events_token=events)[actor]


@pytest.mark.parametrize("actor", EVERYONE)
def test_funnel_metrics_by_role(as_actor, world, actor):
    assert as_actor(actor).get("/api/reports/funnel/").status_code == expect(200)[actor]


@pytest.mark.parametrize("actor", ["alice", "charlie"])
def test_funnel_metrics_never_include_other_reps_leads(as_actor, world, actor):
    rollups_refresh()
    cohort = {row["stage"]: row["count"] for row in as_actor(actor).get("/api/reports/funnel/").json()["cohort"]}
    assert cohort["inquiry"] == 1


@pytest.mark.parametrize("actor", EVERYONE)
def test_import_status_is_for_marketing(as_actor, world, actor):
    # No such import: marketing gets 404, everyone else is stopped before the lookup.
    assert as_actor(actor).get("/api/imports/999999/").status_code == expect(403, marketer=404)[actor]


def test_a_reps_token_sees_what_the_rep_sees(world):
    token = APITokenFactory(user=world["people"]["bob"], scopes=["*"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    assert client.get(f"/api/leads/{world['leads']['alice'].pk}/").status_code == 404
    ids = {row["id"] for row in client.get("/api/leads/").json()["results"]}
    assert ids == {world["leads"]["bob"].pk}


def test_an_events_token_cannot_read_one_lead_either(as_actor, world):
    response = as_actor("events_token").get(f"/api/leads/{world['leads']['pool'].pk}/")
    assert response.status_code == 403


# Behaviour events: marketing, admins and tokens with events:write; reps, managers and executives do not.
@pytest.mark.parametrize("actor", EVERYONE)
def test_sending_events(as_actor, world, actor, django_capture_on_commit_callbacks):
    body = {"id": f"ac-{actor}", "type": "web_visit", "email": f"visitor-{actor}@example.com"}
    with django_capture_on_commit_callbacks(execute=False):
        response = as_actor(actor).post("/api/events/", body, format="json")
    expected = {**dict.fromkeys(PEOPLE, 403), "marketer": 202, "events_token": 202, "anonymous": 401}
    assert response.status_code == expected[actor]


def test_an_event_for_a_lead_id_outside_the_callers_scope_is_refused_without_a_hint(world, marketer):
    # Marketing sees every lead, so use a rep's token with events:write: alice's lead is not bob's.
    token = APITokenFactory(user=world["people"]["bob"], kind="personal", scopes=["events:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    body = {"id": "x1", "type": "web_visit", "lead_id": world["leads"]["alice"].pk}
    response = client.post("/api/events/", body, format="json")
    assert response.status_code in {400, 403, 404}
    assert world["leads"]["alice"].activities.count() == 0


# Nurture tracks and enrolments belong to marketing.
NURTURE = expect(403, marketer=200)


@pytest.mark.parametrize("actor", EVERYONE)
def test_listing_nurture_tracks(as_actor, world, actor):
    assert as_actor(actor).get("/api/nurture/tracks/").status_code == NURTURE[actor]


@pytest.mark.parametrize("actor", EVERYONE)
def test_reading_and_ending_an_enrolment(as_actor, world, actor):
    lead = world["leads"]["alice"]
    # Not enrolled: marketing gets 404; everyone else is stopped before the lookup.
    assert as_actor(actor).get(f"/api/nurture/enrolments/{lead.pk}/").status_code == expect(403, marketer=404)[actor]
    assert as_actor(actor).delete(f"/api/nurture/enrolments/{lead.pk}/").status_code == expect(403, marketer=404)[actor]


@pytest.mark.parametrize("actor", [a for a in EVERYONE if a != "marketer"])
def test_only_marketing_enrols_leads_by_api(as_actor, world, actor):
    lead = world["leads"]["pool"]
    response = as_actor(actor).post("/api/nurture/enrolments/", {"lead_id": lead.pk, "track": "x"}, format="json")
    assert response.status_code == expect(403)[actor]
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
