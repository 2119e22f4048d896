from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from django.contrib.auth.models import Group
from django.db import close_old_connections, connection

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import AssignmentKind, AssignmentLog, AssignmentRule, Lead, Profile, RuleField
from leads.roles import Role
from leads.services.assignment import lead_assign_auto, lead_claim, leads_reassign, team_for_lead
from leads.services.lifecycle import leads_bulk_create
from tests.factories import LeadFactory, TeamFactory, UserFactory

UTC = dt.UTC
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Real concurrent transactions need PostgreSQL row locks (SQLite serialises whole-database writes); "
    "CI runs these on PostgreSQL.",
)


def catch_all(team, position=100):
    return AssignmentRule.objects.create(position=position, field=RuleField.ANY, team=team)


@pytest.mark.django_db
def test_rules_apply_in_order_territory_then_industry_then_size(team_east, team_west):
    emea = TeamFactory(name="EMEA")
    AssignmentRule.objects.create(position=1, field=RuleField.COUNTRY, values="Germany, France", team=emea)
    AssignmentRule.objects.create(position=2, field=RuleField.INDUSTRY, values="Healthcare", team=team_west)
    AssignmentRule.objects.create(position=3, field=RuleField.SIZE_BAND, values="5001+", team=team_west)
    catch_all(team_east)
    assert team_for_lead(lead=Lead(country="germany", industry="Healthcare")) == emea
    assert team_for_lead(lead=Lead(country="Spain", industry="healthcare")) == team_west
    assert team_for_lead(lead=Lead(size_band="5001+")) == team_west
    assert team_for_lead(lead=Lead(country="Spain")) == team_east


@pytest.mark.django_db
def test_no_rule_leaves_the_lead_in_the_unassigned_pool(alice):
    lead = LeadFactory(stage=Stage.MQL)
    assert lead_assign_auto(lead=lead) is None
    lead.refresh_from_db()
    assert lead.owner_id is None


@pytest.mark.django_db
def test_round_robin_skips_reps_who_are_away_or_full(team_east, alice, bob):
    carol = UserFactory(username="carol", role=Role.SALES_REP, team=team_east)
    catch_all(team_east)
    Profile.objects.filter(user=bob).update(is_available=False)
    Profile.objects.filter(user=carol).update(capacity=1)
    owners = [lead_assign_auto(lead=LeadFactory(stage=Stage.MQL)) for _ in range(4)]
    assert owners.count(carol) == 1
    assert owners.count(alice) == 3
    assert bob not in owners


@pytest.mark.django_db
def test_round_robin_alternates_and_territory_restricts(team_east, alice, bob):
    catch_all(team_east)
    owners = [lead_assign_auto(lead=LeadFactory(stage=Stage.MQL)) for _ in range(4)]
    assert owners == [alice, bob, alice, bob]
    Profile.objects.filter(user=bob).update(territory="Canada")
    Profile.objects.filter(user=alice).update(territory="Mexico")
    assert lead_assign_auto(lead=LeadFactory(stage=Stage.MQL, country="Canada")) == bob


@pytest.mark.django_db
def test_assignment_starts_the_sla_clock_in_business_hours_and_is_logged(team_east, alice):
    team_east.time_zone = "Europe/Berlin"
    team_east.save()
    catch_all(team_east)
    lead = LeadFactory(stage=Stage.MQL)
    friday_evening = dt.datetime(2026, 3, 6, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
    assert lead_assign_auto(lead=lead, at=friday_evening) == alice
    lead.refresh_from_db()
    assert lead.assigned_at == friday_evening
    # 4 business hours from Monday 09:00 Berlin (08:00 UTC) = 12:00 UTC
    assert lead.first_touch_due_at == dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert lead.next_follow_up_at == lead.first_touch_due_at
    log = AssignmentLog.objects.get(lead=lead)
    assert (log.from_owner, log.to_owner, log.kind) == (None, alice, AssignmentKind.AUTO)


@pytest.mark.django_db
def test_assigning_an_owned_lead_again_keeps_its_owner(team_east, alice, bob):
    catch_all(team_east)
    lead = LeadFactory(stage=Stage.MQL)
    first = lead_assign_auto(lead=lead)
    assert lead_assign_auto(lead=lead) == first
    assert AssignmentLog.objects.filter(lead=lead).count() == 1


@pytest.mark.django_db
def test_manager_reassigns_many_and_each_change_is_logged(team_east, alice, bob, manager):
    leads = [LeadFactory(stage=Stage.MQL, owner=alice) for _ in range(3)]
    moved = leads_reassign(lead_ids=[lead.pk for lead in leads], to_user=bob, by=manager, reason="alice is away")
    assert moved == 3
    assert set(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("owner", flat=True)) == {bob.pk}
    logs = AssignmentLog.objects.filter(kind=AssignmentKind.REASSIGN)
    assert logs.count() == 3 and {log.from_owner for log in logs} == {alice}


@pytest.mark.django_db
def test_manager_cannot_reassign_to_or_from_another_team(team_east, alice, charlie, manager):
    lead = LeadFactory(stage=Stage.MQL, owner=alice)
    with pytest.raises(ApplicationError, match="not on your team"):
        leads_reassign(lead_ids=[lead.pk], to_user=charlie, by=manager)
    west_lead = LeadFactory(stage=Stage.MQL, owner=charlie)
    with pytest.raises(ApplicationError, match="not yours to reassign"):
        leads_reassign(lead_ids=[west_lead.pk, lead.pk], to_user=alice, by=manager)
    assert Lead.objects.get(pk=west_lead.pk).owner == charlie


@pytest.mark.django_db
def test_rep_cannot_reassign(alice, bob):
    lead = LeadFactory(stage=Stage.MQL, owner=alice)
    with pytest.raises(ApplicationError, match="Only sales managers"):
        leads_reassign(lead_ids=[lead.pk], to_user=bob, by=alice)


@pytest.mark.django_db
def test_claiming_an_owned_lead_says_who_has_it(alice, bob):
    lead = LeadFactory(stage=Stage.MQL)
    lead_claim(lead=lead, by=alice)
    with pytest.raises(ApplicationError, match="claimed this lead first"):
        lead_claim(lead=lead, by=bob)
    assert Lead.objects.get(pk=lead.pk).owner == alice
    assert AssignmentLog.objects.filter(lead=lead, kind=AssignmentKind.CLAIM).count() == 1


@pytest.fixture
def role_groups():
    """Recreate the role groups: a transactional test's flush removes what the data migration made."""
    for role in Role.values:
        Group.objects.get_or_create(name=role)


def _in_threads(count: int, target) -> list:
    """Run target(i) in `count` threads, each with its own database connection; return errors."""
    errors: list = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_assign_a_thousand_leads_each_exactly_once_and_evenly(role_groups):
    team = TeamFactory(name="Load")
    reps = [UserFactory(username=f"load{i}", role=Role.SALES_REP, team=team, team__capacity=1000) for i in range(3)]
    catch_all(team)
    leads = leads_bulk_create(leads=[Lead(email=f"c{i}@load.example", stage=Stage.MQL, grade="A") for i in range(1000)])
    ids = [lead.pk for lead in leads]

    def work(i: int) -> None:
        # Every lead is offered to two workers at once, in a different order each, so they contend.
        mine = ids[i * 250 : (i + 1) * 250] + ids[((i + 1) % 4) * 250 : ((i + 1) % 4 + 1) * 250]
        random.Random(i).shuffle(mine)
        for pk in mine:
            lead_assign_auto(lead=Lead(pk=pk))

    assert _in_threads(4, work) == []
    owners = Counter(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True))
    assert None not in owners
    assert sum(owners.values()) == 1000
    assert max(owners.values()) - min(owners.values()) <= 1
    assert set(owners) == {r.pk for r in reps}
    assert AssignmentLog.objects.filter(lead_id__in=ids).count() == 1000


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_one_lead_exactly_one_wins(role_groups):
    team = TeamFactory(name="Claim")
    reps = [UserFactory(username=f"claimer{i}", role=Role.SALES_REP, team=team) for i in range(2)]
    for round_ in range(5):
        lead = leads_bulk_create(leads=[Lead(email=f"claim{round_}@x.example", stage=Stage.MQL)])[0]
        results: dict[int, str] = {}

        def claim(i: int, lead=lead, results=results) -> None:
            try:
                lead_claim(lead=Lead(pk=lead.pk), by=reps[i])
                results[i] = "won"
            except ApplicationError as exc:
                results[i] = exc.message

        assert _in_threads(2, claim) == []
        assert sorted(results.values()).count("won") == 1
        loser = next(m for m in results.values() if m != "won")
        assert "claimed this lead first" in loser
        winner = next(i for i, m in results.items() if m == "won")
        assert Lead.objects.get(pk=lead.pk).owner_id == reps[winner].pk
        assert AssignmentLog.objects.filter(lead_id=lead.pk).count() == 1
