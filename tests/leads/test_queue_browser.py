"""The rep's day in a real browser: queue order, accept, touch, follow-up, reminder, and another rep's lead."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Lead
from leads.roles import Role
from leads.services.reminders import reminders_send_due
from tests.factories import DEMO_PASSWORD, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The queue caches each user's team time zone; ids repeat across tests, so start clean."""
    cache.clear()


@pytest.fixture
def queue_page_browser(chromium_browser):
    """Yield a fresh Playwright page (own cookies) on the session's Chromium."""
    context = chromium_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def people(transactional_db):
    # A transactional test's flush removes the role groups the data migration made; recreate them.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    team = TeamFactory(name="East")
    boss = UserFactory(username="maria", role=Role.SALES_MANAGER, team=team)
    rep = UserFactory(username="alice", role=Role.SALES_REP, team=team, team__manager=boss)
    other = UserFactory(username="bob", role=Role.SALES_REP, team=team, team__manager=boss)
    return rep, other


def _lead(owner, stage, **fields) -> Lead:
    lead = LeadFactory(stage=stage, owner=owner)
    Lead.objects.filter(pk=lead.pk).update(**fields)
    lead.refresh_from_db()
    return lead


def test_rep_works_the_queue_and_gets_the_reminder(live_server, people, queue_page_browser):
    alice, bob = people
    page = queue_page_browser
    now = timezone.now()
    overdue = _lead(alice, Stage.SAL, first_name="Olive", next_follow_up_at=now - dt.timedelta(days=3))
    fresh = _lead(alice, Stage.MQL, first_name="Nina", grade="A", score=90)
    later = _lead(alice, Stage.SAL, first_name="Larry", grade="C", next_follow_up_at=now + dt.timedelta(days=9))
    theirs = _lead(bob, Stage.MQL, first_name="Bobs")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("[data-testid=queue-row]")

    rows = page.locator("[data-testid=queue-row]")
    assert [int(rows.nth(i).get_attribute("data-lead")) for i in range(rows.count())] == [
        overdue.pk,
        fresh.pk,
        later.pk,
    ]

    row = page.locator(f"#queue-lead-{fresh.pk}")
    row.get_by_role("button", name="Accept").click()
    page.wait_for_selector(f"#queue-lead-{fresh.pk} [data-testid=row-stage]:has-text('SAL')")
    assert Lead.objects.get(pk=fresh.pk).stage == Stage.SAL

    page.locator(f"#queue-lead-{fresh.pk} [data-testid=lead-link]").click()
    page.wait_for_selector("[data-testid=touch-form]")
    touch = page.locator("[data-testid=touch-form]")
    touch.locator("select[name=channel]").select_option("call")
    touch.locator("select[name=outcome]").select_option("voicemail")
    touch.locator("textarea[name=notes]").fill("Left a voicemail about the pilot")
    touch.get_by_role("button", name="Log touch").click()
    page.wait_for_selector("[data-testid=panel-message]:has-text('Touch logged')")
    assert page.locator("[data-testid=touches]").inner_text().startswith("1 of")

    page.locator("summary", has_text="Schedule the next follow-up").click()
    when = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = page.locator("[data-testid=follow-up-form]")
    form.locator("input[name=at]").fill(when)
    form.get_by_role("button", name="Schedule").click()
    page.wait_for_selector("[data-testid=panel-message]:has-text('Follow-up scheduled')")

    # Drive time: the follow-up falls due, and the beat task's service runs.
    due = timezone.now() - dt.timedelta(minutes=1)
    Lead.objects.filter(pk=fresh.pk).update(next_follow_up_at=due, reminder_due_at=due)
    assert reminders_send_due() == 1
    page.goto(f"{live_server.url}/queue/")
    page.wait_for_selector("[data-testid=bell-count]:has-text('1')")
    page.click("[data-testid=bell]")
    page.wait_for_selector("[data-testid=notifications] a:has-text('Follow up with Nina')")

    response = page.goto(f"{live_server.url}/queue/lead/{theirs.pk}/")
    assert response.status == 404
    assert "Bobs" not in page.content()
