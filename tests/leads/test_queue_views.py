from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from leadops.cache import cache_failures_forget
from leads.lifecycle import Stage
from leads.models import Lead, Notification
from leads.selectors_queue import queue_page
from leads.services.reminders import reminders_send_due
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The queue caches each user's team time zone; ids repeat across tests, so start clean."""
    cache.clear()


def lead_for(owner, stage=Stage.SAL, **fields):
    lead = LeadFactory(stage=stage, owner=owner)
    if fields:
        Lead.objects.filter(pk=lead.pk).update(**fields)
        lead.refresh_from_db()
    return lead


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def queue_of_alice(alice):
    now = timezone.now()
    return {
        "rest": lead_for(alice, grade="B", score=40, next_follow_up_at=now + dt.timedelta(days=5)),
        "new_low": lead_for(alice, stage=Stage.MQL, grade="A", score=70),
        "new_high": lead_for(alice, stage=Stage.MQL, grade="A", score=95),
        "today": lead_for(alice, next_follow_up_at=now + dt.timedelta(minutes=1)),
        "overdue_recent": lead_for(alice, next_follow_up_at=now - dt.timedelta(hours=1)),
        "overdue_old": lead_for(alice, next_follow_up_at=now - dt.timedelta(days=2)),
    }


def test_queue_orders_overdue_then_today_then_new_a_by_score_then_rest(alice, bob):
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    leads = {
        "rest": lead_for(alice, grade="B", score=40, next_follow_up_at=noon + dt.timedelta(days=5)),
        "new_low": lead_for(alice, stage=Stage.MQL, grade="A", score=70),
        "new_high": lead_for(alice, stage=Stage.MQL, grade="A", score=95),
        "today": lead_for(alice, next_follow_up_at=noon + dt.timedelta(hours=3)),
        "overdue_recent": lead_for(alice, next_follow_up_at=noon - dt.timedelta(hours=1)),
        "overdue_old": lead_for(alice, next_follow_up_at=noon - dt.timedelta(days=2)),
    }
    lead_for(bob, next_follow_up_at=noon - dt.timedelta(days=3))
    page = queue_page(user=alice, now=noon)
    expected = ["overdue_old", "overdue_recent", "today", "new_high", "new_low", "rest"]
    assert [lead.pk for lead in page.leads] == [leads[key].pk for key in expected]
    assert page.counts == {"overdue": 2, "today": 1, "new": 2, "total": 6}


def test_keyset_pages_cover_the_queue_once_in_order(alice):
    now = timezone.now()
    for i in range(7):
        lead_for(alice, next_follow_up_at=now - dt.timedelta(hours=i))
        lead_for(alice, stage=Stage.MQL, grade="A", score=50 + i)
        lead_for(alice, grade="C", score=i)
    seen, cursor = [], None
    while True:
        page = queue_page(user=alice, cursor=cursor, limit=4, now=now)
        seen.extend(lead.pk for lead in page.leads)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [lead.pk for lead in queue_page(user=alice, limit=100, now=now).leads]
    assert len(seen) == len(set(seen)) == 21


def test_queue_page_renders_with_filters_and_a_bad_cursor(alice_client, queue_of_alice):
    response = alice_client.get(reverse("queue:home"), {"q": "", "bucket": "overdue", "cursor": "garbage"})
    assert response.status_code == 200
    assert response.content.count(b'data-testid="queue-row"') == 2


def test_rep_cannot_see_act_on_or_export_another_reps_lead(alice_client, bob):
    theirs = lead_for(bob, stage=Stage.MQL)
    assert alice_client.get(reverse("queue:lead", args=[theirs.pk])).status_code == 404
    for name in ("accept", "touch", "reject", "no_response", "follow_up"):
        response = alice_client.post(reverse(f"queue:{name}", args=[theirs.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 404, name
    export = alice_client.get(reverse("queue:export"))
    assert theirs.email.encode() not in export.content
    assert Lead.objects.get(pk=theirs.pk).stage == Stage.MQL


def test_accept_in_place_returns_the_updated_row(alice_client, alice):
    lead = lead_for(alice, stage=Stage.MQL, grade="A")
    response = alice_client.post(
        reverse("queue:accept", args=[lead.pk]),
        {"expected_stage": "mql", "return": "row"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"SAL" in response.content and b"Accepted" in response.content
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SAL


def test_accepting_a_lead_changed_meanwhile_shows_a_clear_message(alice_client, alice, manager):
    lead = lead_for(alice, stage=Stage.SAL)
    response = alice_client.post(reverse("queue:accept", args=[lead.pk]), {"expected_stage": "mql"}, follow=True)
    assert b"someone else changed it" in response.content


def test_no_response_too_early_says_how_many_touches_remain(alice_client, alice):
    lead = lead_for(alice)
    response = alice_client.post(reverse("queue:no_response", args=[lead.pk]), HTTP_HX_REQUEST="true")
    assert b"Make 8 more touches" in response.content
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SAL


def test_reject_without_a_comment_loses_nothing(alice_client, alice):
    lead = lead_for(alice, stage=Stage.MQL)
    response = alice_client.post(reverse("queue:reject", args=[lead.pk]), {"reason": "bad_fit"}, follow=True)
    assert response.status_code == 200 and b"Comment" in response.content
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_reject_to_nurture_leaves_the_queue(alice_client, alice):
    lead = lead_for(alice, stage=Stage.MQL)
    response = alice_client.post(
        reverse("queue:reject", args=[lead.pk]),
        {"reason": "not_now", "comment": "next year", "expected_stage": "mql"},
        HTTP_HX_REQUEST="true",
    )
    assert b"left your queue" in response.content
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NURTURE


def test_touch_and_follow_up_views(alice_client, alice):
    lead = lead_for(alice)
    response = alice_client.post(
        reverse("queue:touch", args=[lead.pk]), {"channel": "call", "outcome": "connected", "notes": "good chat"}
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).sales_touches == 1
    when = (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = alice_client.post(reverse("queue:follow_up", args=[lead.pk]), {"at": when}, HTTP_HX_REQUEST="true")
    assert b"Follow-up scheduled" in response.content
    bad = alice_client.post(reverse("queue:follow_up", args=[lead.pk]), {"at": "tomorrow"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and b"valid date" in bad.content


def test_lead_page_shows_the_preparation_panel(alice_client, alice):
    lead = lead_for(alice, stage=Stage.MQL)
    response = alice_client.get(reverse("queue:lead", args=[lead.pk]))
    assert response.status_code == 200
    assert b"/uld/guide/" in response.content and b"Timeline" in response.content


def test_export_lists_my_queue(alice_client, queue_of_alice):
    response = alice_client.get(reverse("queue:export"))
    assert response["Content-Type"].startswith("text/csv")
    assert len(response.content.decode().strip().splitlines()) == 7


def test_board_is_for_managers_and_reassigns(client, manager, alice, bob):
    lead = lead_for(alice, next_follow_up_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(alice)
    assert client.get(reverse("queue:board")).status_code == 403
    assert client.post(reverse("queue:reassign"), {"lead_ids": [lead.pk], "to_user": bob.pk}).status_code == 403
    client.force_login(manager)
    response = client.get(reverse("queue:board"))
    assert response.status_code == 200 and lead.display_name.encode() in response.content
    response = client.post(reverse("queue:reassign"), {"lead_ids": [lead.pk], "to_user": bob.pk}, follow=True)
    assert b"Reassigned 1 lead" in response.content
    assert Lead.objects.get(pk=lead.pk).owner == bob


def test_executive_has_no_queue(client, executive):
    client.force_login(executive)
    assert client.get(reverse("queue:home")).status_code == 403


def test_home_is_the_queue_for_reps_and_the_board_for_managers(client, alice, manager):
    client.force_login(alice)
    assert client.get("/")["Location"] == reverse("queue:home")
    client.force_login(manager)
    assert client.get("/")["Location"] == reverse("queue:board")


def test_bell_counts_unread_reminders_and_the_list_shows_them(alice_client, alice):
    due = timezone.now() - dt.timedelta(minutes=1)
    lead_for(alice, next_follow_up_at=due, reminder_due_at=due)
    reminders_send_due()
    bell = alice_client.get(reverse("queue:bell"))
    assert b'data-testid="bell-count">1<' in bell.content
    listing = alice_client.get(reverse("queue:notifications"))
    assert b"Follow up with" in listing.content
    alice_client.post(reverse("queue:notifications_read"))
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()


def test_admin_lists_assignment_rules_and_the_assignment_log(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/leads/assignmentrule/").status_code == 200
    assert client.get("/admin/leads/assignmentlog/").status_code == 200
    assert client.get("/admin/leads/assignmentlog/add/").status_code == 403


def test_queue_row_escapes_what_leads_contain(alice_client, alice):
    lead_for(alice, first_name='<script>alert("x")</script>', company_name='A&B "Co"')
    response = alice_client.get(reverse("queue:home"))
    assert b"<script>alert" not in response.content
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in response.content
    assert b"A&amp;B &quot;Co&quot;" in response.content


def test_the_queue_page_is_served_while_the_cache_redis_is_stopped_or_frozen(
    alice_client, queue_of_alice, private_redis_cache, caplog
):
    assert alice_client.get(reverse("queue:home")).status_code == 200  # the time zone is cached in Redis

    private_redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="leadops.cache"):
        response = alice_client.get(reverse("queue:home"))
    assert response.status_code == 200
    assert "cache unavailable for the queue's time zone" in caplog.text

    private_redis_cache.start()
    private_redis_cache.pause()
    cache_failures_forget()  # ask the frozen Redis, rather than skip it after the failure above
    assert alice_client.get(reverse("queue:home")).status_code == 200
    private_redis_cache.resume()
