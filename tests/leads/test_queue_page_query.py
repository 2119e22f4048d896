"""The queue page's one statement agrees with the ORM's sort key, and the page costs a fixed few queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Lead, ULDVersion
from leads.queue_policy import active_policy
from leads.selectors import lead_scope, lead_scope_covers_own
from leads.selectors_queue import _queue_base, queue_page
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def lead_for(owner, stage=Stage.SAL, **fields):
    lead = LeadFactory(stage=stage, owner=owner)
    if fields:
        Lead.objects.filter(pk=lead.pk).update(**fields)
    return lead


@pytest.fixture
def mixed_queue(alice, bob):
    now = timezone.now()
    names = ["Ann", "Anna_B", "Bo%b", "Carl", "anne", "Dora"]
    for i in range(24):
        follow = [None, now - dt.timedelta(hours=i), now + dt.timedelta(minutes=5 + i), now + dt.timedelta(days=i)]
        lead_for(
            alice,
            stage=[Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.INQUIRY][i % 5],
            grade="ABCD"[i % 4],
            score=(i * 7) % 50,  # repeated scores: the id breaks ties
            next_follow_up_at=follow[i % 4],
            first_name=names[i % len(names)],
            company_name=f"Co {i % 3}",
        )
    lead_for(alice, stage=Stage.WON, next_follow_up_at=now - dt.timedelta(days=1))  # not worked any more
    lead_for(bob, next_follow_up_at=now - dt.timedelta(days=3))  # someone else's
    return now


def _orm_order(user, now, **filters) -> list[int]:
    leads = _queue_base(user=user, now=now).filter(**filters)
    return list(leads.order_by("q_bucket", "q_due", "q_neg_score", "pk").values_list("pk", flat=True))


def _all_pages(user, now, limit=5, **filters) -> list[int]:
    seen, cursor = [], None
    while True:
        page = queue_page(user=user, now=now, cursor=cursor, limit=limit, **filters)
        seen.extend(lead.pk for lead in page.leads)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_queue_pages_follow_the_orm_sort_key_with_and_without_filters(alice, mixed_queue):
    now = mixed_queue
    assert _all_pages(alice, now) == _orm_order(alice, now)
    assert _all_pages(alice, now, grade="A") == _orm_order(alice, now, grade="A")
    assert _all_pages(alice, now, stage=Stage.SQL) == _orm_order(alice, now, stage=Stage.SQL)
    assert _all_pages(alice, now, bucket="overdue") == _orm_order(alice, now, q_bucket=0)
    assert _all_pages(alice, now, bucket="new", limit=2) == _orm_order(alice, now, q_bucket=2)


def test_queue_search_matches_name_prefixes_case_blind_and_treats_wildcards_literally(alice, mixed_queue):
    now = mixed_queue
    expected = Lead.objects.filter(owner=alice, first_name__in=["Ann", "Anna_B", "anne"])
    assert set(_all_pages(alice, now, q="ann")) == set(expected.values_list("pk", flat=True))
    assert len(_all_pages(alice, now, q="Anna_")) == 4  # "_" is a character, not a wildcard
    assert _all_pages(alice, now, q="Bo%") and not _all_pages(alice, now, q="B%b")
    assert _all_pages(alice, now, q="nobody") == []


def test_queue_counts_cover_the_whole_queue_even_on_an_empty_page(alice, mixed_queue):
    now = mixed_queue
    full = queue_page(user=alice, now=now)
    assert full.counts["total"] == 24
    empty = queue_page(user=alice, now=now, q="nobody")
    assert empty.leads == [] and empty.next_cursor is None
    assert empty.counts == full.counts


def test_queue_rows_carry_what_the_row_shows_without_more_queries(alice, mixed_queue):
    page = queue_page(user=alice, now=mixed_queue, limit=30)
    with CaptureQueriesContext(connection) as queries:
        for lead in page.leads:
            _ = (lead.display_name, lead.title, lead.company_name, lead.grade, lead.score, lead.stage)
            _ = (lead.next_follow_up_at, lead.last_touch_at, lead.sales_touches, lead.sla_state, lead.q_due)
    assert len(queries) == 0
    assert all(lead.q_due.tzinfo is not None for lead in page.leads)


def test_queue_rows_hold_the_same_values_as_the_lead_table(alice, mixed_queue):
    from leads.queue_page_sql import ROW_FIELDS

    page = queue_page(user=alice, now=mixed_queue, limit=30)
    attnames = [Lead._meta.get_field(name).attname for name in ROW_FIELDS]
    stored = {row["id"]: row for row in Lead.objects.filter(owner=alice).values(*attnames)}
    assert page.leads
    for lead in page.leads:
        assert {name: getattr(lead, name) for name in attnames} == stored[lead.pk]


def test_queue_page_shows_accept_on_new_leads(alice_client_factory, alice):
    lead = lead_for(alice, stage=Stage.MQL)
    body = alice_client_factory().get(reverse("queue:home")).content.decode()
    assert reverse("queue:accept", args=[lead.pk]) in body


def test_queue_page_runs_a_fixed_number_of_queries(alice_client_factory, alice, mixed_queue):
    client = alice_client_factory()
    client.get(reverse("queue:home"))  # first request warms the per-process caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("queue:home")).status_code == 200
    for _ in range(30):
        lead_for(alice, next_follow_up_at=timezone.now() - dt.timedelta(days=9))
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse("queue:home")).status_code == 200
    # session, user, roles, the page (counts + agreed ULD version + keys + rows)
    assert len(small) == len(large) == 4


@pytest.fixture
def alice_client_factory(client, alice):
    def make():
        client.force_login(alice)
        return client

    return make


@pytest.mark.parametrize("who", ["alice", "manager", "marketer", "admin_user", "executive"])
def test_scope_covers_own_agrees_with_lead_scope(request, who):
    user = request.getfixturevalue(who)
    mine = LeadFactory(stage=Stage.SAL, owner=user)
    assert lead_scope_covers_own(user) == lead_scope(user=user).filter(pk=mine.pk).exists()


def test_user_whose_scope_excludes_own_leads_gets_an_empty_queue(executive):
    LeadFactory(stage=Stage.SAL, owner=executive)
    page = queue_page(user=executive)
    assert page.leads == [] and page.counts["total"] == 0


def test_policy_is_read_once_per_agreed_version(django_assert_num_queries):
    active_policy()
    with django_assert_num_queries(1):
        second = active_policy()
    version = ULDVersion.objects.get(status="agreed")
    assert second.min_touches_before_no_response == version.min_touches_before_no_response


def test_a_newly_agreed_version_replaces_the_cached_policy(marketer, manager, alice):
    from leads.services.uld import uld_draft_create, uld_propose, uld_sign, uld_update

    before = active_policy()
    draft = uld_draft_create(by=marketer)
    uld_update(version=draft, by=marketer, min_touches_before_no_response=before.min_touches_before_no_response + 3)
    uld_propose(version=draft, by=marketer)
    uld_sign(version=draft, by=marketer)
    uld_sign(version=draft, by=manager)

    assert active_policy().min_touches_before_no_response == before.min_touches_before_no_response + 3
    lead_for(alice)
    page = queue_page(user=alice)
    assert page.policy.min_touches_before_no_response == before.min_touches_before_no_response + 3
    assert page.leads[0].touch_target == before.min_touches_before_no_response + 3
