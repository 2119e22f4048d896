"""The nurture journey in a real browser: build a track, a B lead flows through it, a click hands it to a
rep, and a rep's "not now" puts another lead into the track for that reason."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core import mail

from leads.lifecycle import Stage
from leads.models import AssignmentRule, Lead, RuleField
from leads.roles import Role
from nurture.models import Delivery, Enrolment, ExitReason, Track
from nurture.services.delivery import enrolments_advance_due
from nurture.services.enrolment import leads_graded_route
from nurture.services.tracks import step_add, track_activate, track_create
from scoring.defaults import default_definition_seed
from scoring.services import leads_score
from tests.factories import DEMO_PASSWORD, LeadFactory, TeamFactory, UserFactory
from tests.nurture.conftest import b_lead

pytestmark = pytest.mark.browser
DAY = dt.timedelta(days=1)


@pytest.fixture
def tab(chromium_browser, live_server):
    context = chromium_browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def people(transactional_db):
    # A live-server test's flush removes the role groups and the seeded definition; put them back.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    default_definition_seed(apps.get_model)
    team = TeamFactory(name="East")
    boss = UserFactory(username="maria", role=Role.SALES_MANAGER, team=team)
    rep = UserFactory(username="alice", role=Role.SALES_REP, team=team, team__manager=boss)
    marketer = UserFactory(username="mark", first_name="Mark", last_name="Eting", role=Role.MARKETING)
    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team)
    return marketer, rep


def log_in(tab, username: str) -> None:
    tab.context.clear_cookies()
    tab.goto("/accounts/login/")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", DEMO_PASSWORD)
    with tab.expect_navigation():
        tab.click("form button[type=submit]")


def add_step(tab, *, wait: int, channel: str, subject: str = "", body: str, url: str = "") -> None:
    form = tab.locator("[data-testid=step-form]")
    if not form.is_visible():
        tab.click("summary:has-text('Add a step')")
    form.locator("input[name=wait_days]").fill(str(wait))
    form.locator("select[name=channel]").select_option(channel)
    form.locator("input[name=subject]").fill(subject)
    form.locator("textarea[name=body]").fill(body)
    form.locator("input[name=content_url]").fill(url)
    with tab.expect_navigation():
        form.get_by_role("button", name="Add step").click()


def test_a_b_lead_is_nurtured_until_a_click_hands_it_to_a_rep_and_a_not_now_comes_back(tab, people):
    marketer, alice = people
    # Another track takes the leads sales returns as "not now".
    later = track_create(by=marketer, name="Come back later", slug="not-now", audience_reasons=["not_now"])
    step_add(
        track=later, by=marketer, wait_days=7, channel="email", subject="Still thinking, {{ first_name }}?", body="Hi"
    )
    track_activate(track=later, by=marketer)
    sample = b_lead(first_name="Petra", company_name="Globex", email="petra@globex.example")

    # The marketer builds a three-step track.
    log_in(tab, "mark")
    tab.click("nav a:has-text('Nurture')")
    tab.click("[data-testid=new-track]")
    tab.fill("input[name=name]", "Accelerate")
    tab.fill("input[name=slug]", "accelerate")
    tab.check("input[name=audience_grades][value=B]")
    tab.click("button:has-text('Create track')")
    tab.wait_for_selector("text=Add its steps, then activate it")

    add_step(tab, wait=1, channel="email", subject="Hi {{ nickname }}", body="Hello")
    assert "Unknown merge field {{ nickname }} in the subject" in tab.inner_text("[data-testid=step-error]")
    add_step(
        tab,
        wait=0,
        channel="email",
        subject="{{ first_name }}, a guide for {{ company }}",
        body="Hi {{ first_name }}, here is the guide: {{ content_link }}\n{{ rep }}",
        url="https://example.com/guide",
    )
    add_step(tab, wait=2, channel="call", body="Call {{ first_name }} about the guide")
    add_step(
        tab,
        wait=3,
        channel="email",
        subject="A case study for {{ company }}",
        body="{{ first_name }}, see how others did it: {{ content_link }}",
        url="https://example.com/case-study",
    )
    assert tab.locator("[data-testid=steps] li").count() == 3

    tab.fill("#preview-lead", str(sample.pk))
    with tab.expect_navigation():
        tab.click("button:has-text('Preview')")
    assert tab.inner_text("[data-testid=preview-subject]") == "Petra, a guide for Globex"
    assert "Mark Eting" in tab.inner_text("[data-testid=preview-body]")
    tab.click("[data-testid=activate]")
    tab.wait_for_selector("[data-testid=track-status]:has-text('Active')")
    track = Track.objects.get(slug="accelerate")

    # A B lead is scored and routed (the beat task's services), and enrolled automatically.
    lead = b_lead(first_name="Bea", company_name="Acme Corp")
    leads_score(lead_ids=[lead.pk])
    assert leads_graded_route() >= 1
    enrolment = Enrolment.objects.get(lead=lead, status="active")
    assert enrolment.track == track
    tab.goto(f"/leads/{lead.pk}/")
    assert "Accelerate" in tab.inner_text("[data-testid=enrolment-track]")
    assert "Next: step 1" in tab.inner_text("[data-testid=next-step]")

    # Time moves forward: the steps go out in order, each after its wait.
    start = enrolment.enrolled_at
    enrolments_advance_due(now=start + dt.timedelta(minutes=1))
    assert [m.subject for m in mail.outbox] == ["Bea, a guide for Acme Corp"]
    enrolments_advance_due(now=start + 1 * DAY)
    assert len(mail.outbox) == 1
    enrolments_advance_due(now=start + 2 * DAY + dt.timedelta(minutes=2))
    assert Delivery.objects.get(lead=lead, step__position=2).status == Delivery.Status.TASK_OPEN
    enrolments_advance_due(now=start + 5 * DAY + dt.timedelta(minutes=3))
    assert [m.subject for m in mail.outbox] == ["Bea, a guide for Acme Corp", "A case study for Acme Corp"]
    tab.goto(f"/leads/{lead.pk}/")
    assert "Nurture email" in tab.inner_text(".timeline")

    # The lead clicks the tracked link in the second email: the score crosses the line.
    path = re.search(r"https?://[^/\s]+(/nurture/c/[^\s]+/)", mail.outbox[1].body).group(1)
    # (Through the browser's HTTP client without following the redirect: Chromium does not let a test
    # intercept a redirect to an outside host, and this machine has no internet.)
    response = tab.context.request.get(path, max_redirects=0)
    assert (response.status, response.headers["location"]) == (302, "https://example.com/case-study")
    lead.refresh_from_db()
    assert (lead.grade, lead.stage, lead.owner) == ("A", Stage.MQL, alice)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.SALES_READY)

    # It is in the rep's queue; the rep returns another lead as "not now".
    other = LeadFactory(first_name="Otto", stage=Stage.MQL, owner=alice)
    log_in(tab, "alice")
    tab.goto("/queue/")
    tab.wait_for_selector(f"[data-testid=queue-row][data-lead='{lead.pk}']")
    tab.goto(f"/queue/lead/{other.pk}/")
    tab.click("summary:has-text('Reject')")
    tab.select_option("select[name=reason]", "not_now")
    tab.fill("textarea[name=comment]", "Budget opens next quarter")
    with tab.expect_response(lambda response: response.url.endswith(f"/queue/lead/{other.pk}/reject/")):
        tab.click("form[action$='/reject/'] button:has-text('Reject')")
    other.refresh_from_db()
    assert (other.stage, other.owner) == (Stage.NURTURE, None)
    assert Enrolment.objects.get(lead=other, status="active").track == later

    # Marketing sees the conversion that matters on the track's results.
    log_in(tab, "mark")
    tab.goto("/nurture/accelerate/results/")
    assert tab.inner_text("[data-testid=sales-ready]") == "1"
    assert tab.inner_text("[data-testid=enrolled]") == "1"
    assert Lead.objects.get(pk=lead.pk).nurture_touches == 2
