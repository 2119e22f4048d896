"""Who sees and acts on which lead: the scope selector and every lead page, htmx partial and report page."""

from __future__ import annotations

import re

import pytest
from django.http import Http404
from django.urls import reverse

from leads.lifecycle import Stage
from leads.models import Lead, StageChange
from leads.selectors import lead_get, lead_scope
from leads.services.lifecycle import lead_stage_change
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(alice, bob, charlie, manager):
    """One lead per owner (and one unassigned), named after whose it is."""
    return {
        "alice": LeadFactory(first_name="Alices", last_name="Lead", owner=alice),
        "bob": LeadFactory(first_name="Bobs", last_name="Lead", owner=bob),
        "charlie": LeadFactory(first_name="Charlies", last_name="Lead", owner=charlie),
        "manager": LeadFactory(first_name="Marias", last_name="Lead", owner=manager),
        "pool": LeadFactory(first_name="Pool", last_name="Lead", owner=None),
    }


# Which of the `leads` fixture each named user may see.
VISIBLE = {
    "alice": {"alice"},
    "bob": {"bob"},
    "charlie": {"charlie"},
    "manager": {"alice", "bob", "manager", "pool"},
    "marketer": {"alice", "bob", "charlie", "manager", "pool"},
    "admin_user": {"alice", "bob", "charlie", "manager", "pool"},
    "executive": set(),
}


def _listed_ids(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-lead="(\d+)"', response.content.decode())}


def _ids(leads, names) -> set[int]:
    return {leads[name].pk for name in names}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_lead_scope_holds_exactly_the_leads_the_role_may_see(request, leads, who):
    user = request.getfixturevalue(who)
    assert set(lead_scope(user=user).values_list("pk", flat=True)) == _ids(leads, VISIBLE[who])


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_lead_get_returns_visible_leads_and_404s_the_rest(request, leads, who):
    user = request.getfixturevalue(who)
    for name, lead in leads.items():
        if name in VISIBLE[who]:
            assert lead_get(user=user, pk=lead.pk) == lead
        else:
            with pytest.raises(Http404):
                lead_get(user=user, pk=lead.pk)


def test_anonymous_scope_is_empty(leads, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert not lead_scope(user=AnonymousUser()).exists()


def test_user_with_no_role_sees_no_leads(leads):
    assert not lead_scope(user=UserFactory(username="nobody")).exists()


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "manager", "marketer", "admin_user"])
def test_lead_list_page_shows_exactly_the_visible_leads(client, request, leads, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("leads:list"))
    assert response.status_code == 200
    assert _listed_ids(response) == _ids(leads, VISIBLE[who])


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "manager", "marketer", "admin_user"])
def test_lead_detail_opens_visible_leads_and_404s_the_rest(client, request, leads, who):
    client.force_login(request.getfixturevalue(who))
    for name, lead in leads.items():
        response = client.get(reverse("leads:detail", args=[lead.pk]))
        assert response.status_code == (200 if name in VISIBLE[who] else 404), name


def test_rep_cannot_see_other_reps_lead_and_the_404_says_nothing_about_it(client, alice, leads):
    client.force_login(alice)
    response = client.get(reverse("leads:detail", args=[leads["bob"].pk]))
    assert response.status_code == 404
    assert "Bobs" not in response.content.decode()
    assert "Not found" in response.content.decode()


def test_other_reps_leads_never_appear_in_any_page_of_the_list(client, alice, bob):
    # 60 of alice's leads with bob's interleaved: more than one page (50), both pages checked.
    mine, theirs = set(), set()
    for i in range(60):
        mine.add(LeadFactory(owner=alice).pk)
        if i % 6 == 0:
            theirs.add(LeadFactory(owner=bob).pk)
    client.force_login(alice)
    first = client.get(reverse("leads:list"))
    cursor = re.search(r'after=(\d+)"', first.content.decode()).group(1)
    second = client.get(reverse("leads:list"), {"after": cursor}, headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert "<html" not in second.content.decode()
    assert "More leads" not in second.content.decode()
    seen = _listed_ids(first) | _listed_ids(second)
    assert len(_listed_ids(first)) == 50
    assert seen == mine
    assert not seen & theirs


def test_manager_list_filters_to_unassigned_pool_and_by_owner(client, manager, alice, leads):
    client.force_login(manager)
    pool = client.get(reverse("leads:list"), {"unassigned": "on"})
    assert _listed_ids(pool) == {leads["pool"].pk}
    by_owner = client.get(reverse("leads:list"), {"owner": alice.pk})
    assert _listed_ids(by_owner) == {leads["alice"].pk}


def test_manager_cannot_filter_by_a_rep_of_another_team(client, manager, charlie, leads):
    client.force_login(manager)
    response = client.get(reverse("leads:list"), {"owner": charlie.pk})
    assert response.status_code == 400
    assert "not a person whose leads you can see" in response.content.decode()
    assert leads["charlie"].pk not in _listed_ids(response)


@pytest.mark.parametrize("name", ["leads:list", "reporting:dashboard", "system_status"])
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_is_sent_to_login_from_lead_detail_and_stage_post(client, leads):
    lead = leads["alice"]
    for response in (
        client.get(reverse("leads:detail", args=[lead.pk])),
        client.post(reverse("leads:stage", args=[lead.pk]), {"to_stage": "mql", "expected_stage": "inquiry"}),
        client.get(reverse("leads:list"), {"after": lead.pk}, headers={"HX-Request": "true"}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY


def test_executive_gets_403_on_every_lead_page(client, executive, leads):
    client.force_login(executive)
    lead = leads["alice"]
    responses = [
        client.get(reverse("leads:list")),
        client.get(reverse("leads:list"), {"after": lead.pk + 1}, headers={"HX-Request": "true"}),
        client.get(reverse("leads:detail", args=[lead.pk])),
        client.post(reverse("leads:stage", args=[lead.pk]), {"to_stage": "mql", "expected_stage": "inquiry"}),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert "Your role reads reports, not leads." in responses[0].content.decode()
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("executive", 200),
        ("manager", 200),
        ("marketer", 200),
        ("admin_user", 200),
        # A rep reads the dashboard narrowed to their own numbers (tests/reporting covers the narrowing).
        ("alice", 200),
    ],
)
def test_dashboard_is_open_to_every_role(client, request, who, status):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("reporting:dashboard"))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin_user", 200), ("alice", 403), ("manager", 403), ("marketer", 403), ("executive", 403)],
)
def test_system_status_is_for_admins_only(client, request, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("system_status")).status_code == status
    assert client.get(reverse("system_status"), headers={"HX-Request": "true"}).status_code == status


def _move(client, lead, to_stage, expected_stage):
    return client.post(
        reverse("leads:stage", args=[lead.pk]),
        {"to_stage": to_stage, "expected_stage": expected_stage, "reason": "test"},
        follow=True,
    )


def test_rep_moves_own_lead(client, alice, leads):
    client.force_login(alice)
    response = _move(client, leads["alice"], Stage.MQL, Stage.INQUIRY)
    assert "Moved to MQL." in response.content.decode()
    leads["alice"].refresh_from_db()
    assert leads["alice"].stage == Stage.MQL


@pytest.mark.parametrize(("who", "owner"), [("bob", "alice"), ("charlie", "alice"), ("manager", "charlie")])
def test_stage_post_on_an_invisible_lead_is_404_and_changes_nothing(client, request, leads, who, owner):
    client.force_login(request.getfixturevalue(who))
    lead = leads[owner]
    response = client.post(
        reverse("leads:stage", args=[lead.pk]), {"to_stage": Stage.MQL, "expected_stage": Stage.INQUIRY}
    )
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_manager_moves_a_lead_of_their_team(client, manager, leads):
    client.force_login(manager)
    _move(client, leads["bob"], Stage.SAL, Stage.INQUIRY)
    leads["bob"].refresh_from_db()
    assert leads["bob"].stage == Stage.SAL


def test_illegal_stage_move_shows_the_rule_and_changes_nothing(client, alice, leads):
    client.force_login(alice)
    lead = leads["alice"]
    response = _move(client, lead, Stage.WON, Stage.INQUIRY)
    page = response.content.decode()
    assert "A lead cannot move from Inquiry to Won." in page
    assert 'role="alert"' in page
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_stale_expected_stage_shows_the_conflict_and_keeps_the_other_change(client, alice, bob, leads):
    lead = leads["alice"]
    lead_stage_change(lead=Lead.objects.get(pk=lead.pk), to_stage=Stage.MQL, by=bob)
    client.force_login(alice)
    response = _move(client, lead, Stage.SAL, Stage.INQUIRY)
    assert "someone else changed it" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_unknown_target_stage_is_a_message_not_an_error(client, alice, leads):
    client.force_login(alice)
    response = _move(client, leads["alice"], "bogus", Stage.INQUIRY)
    assert response.status_code == 200
    assert "Choose one of the listed stages" in response.content.decode()
    leads["alice"].refresh_from_db()
    assert leads["alice"].stage == Stage.INQUIRY


def test_stage_change_url_refuses_get(client, alice, leads):
    client.force_login(alice)
    assert client.get(reverse("leads:stage", args=[leads["alice"].pk])).status_code == 405


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("alice", "queue:home"),
        ("manager", "queue:board"),
        ("marketer", "leads:list"),
        ("executive", "reporting:dashboard"),
        ("admin_user", "system_status"),
    ],
)
def test_start_page_sends_each_role_home(client, request, who, home):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse(home)


def test_anonymous_start_page_goes_to_login_not_to_the_no_role_page(client):
    for name in ("home", "no_role"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_user_without_a_role_is_told_to_ask_for_one(client):
    client.force_login(UserFactory(username="nobody"))
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 403
    assert "You have no role yet" in response.content.decode()


def test_expired_form_gets_a_friendly_403_and_changes_nothing(alice, leads):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    lead = leads["alice"]
    response = client.post(reverse("leads:stage", args=[lead.pk]), {"to_stage": "mql", "expected_stage": "inquiry"})
    assert response.status_code == 403
    assert "Nothing was changed." in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == Stage.INQUIRY
