"""Each role logs in through the real form and lands on its own home; reps stay inside their own leads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.lifecycle import Stage
from leads.models import Lead
from leads.services.lifecycle import lead_stage_change
from tests.browser.conftest import log_in
from tests.factories import DEMO_PASSWORD, LeadFactory

# The live server reads what the test writes, so the data must be committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def leads(alice, bob, charlie):
    return {
        "alice": LeadFactory(first_name="Alices", last_name="Prospect", company_name="Acme", owner=alice),
        "bob": LeadFactory(first_name="Bobs", last_name="Prospect", company_name="Globex", owner=bob),
        "charlie": LeadFactory(first_name="Charlies", last_name="Prospect", company_name="Initech", owner=charlie),
        "pool": LeadFactory(first_name="Unowned", last_name="Prospect", company_name="Hooli", owner=None),
    }


@pytest.mark.parametrize(
    ("who", "role", "home", "sees", "not_sees"),
    [
        ("alice", "Sales Rep", r"/queue/$", ["Alices"], ["Bobs", "Charlies", "Unowned"]),
        ("manager", "Sales Manager", r"/queue/board/$", ["Alices", "Bobs", "Unowned"], ["Charlies"]),
        ("marketer", "Marketing", r"/leads/$", ["Alices", "Bobs", "Charlies", "Unowned"], []),
    ],
)
def test_lead_workers_land_on_their_home_and_list_only_their_leads(
    page, request, leads, who, role, home, sees, not_sees
):
    user = request.getfixturevalue(who)
    log_in(page, user.username, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(home))
    page.goto("/leads/")
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    expect(page.get_by_test_id("role")).to_have_text(role)
    table = page.locator("#lead-rows")
    for name in sees:
        expect(table.get_by_role("link", name=re.compile(name))).to_be_visible()
    for name in not_sees:
        expect(table.get_by_text(name)).to_have_count(0)


def test_executive_lands_on_the_dashboard_and_is_refused_leads(page, executive, leads, screenshot):
    log_in(page, executive.username, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(page.get_by_role("heading", name="Funnel dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="Leads", exact=True)).to_have_count(0)
    response = page.goto(f"/leads/{leads['alice'].pk}/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    screenshot(page, "forbidden")


def test_admin_lands_on_system_status(page, admin_user):
    log_in(page, admin_user.username, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/system/status/$"))
    expect(page.get_by_role("heading", name="System status")).to_be_visible()
    expect(page.locator("tr[data-component=database]")).to_contain_text("up")


def test_wrong_password_stays_on_the_login_form_with_a_message(page, alice, screenshot):
    log_in(page, alice.username, "not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    screenshot(page, "login")


def test_rep_cannot_open_another_reps_lead(page, alice, leads, screenshot):
    log_in(page, alice.username, DEMO_PASSWORD)
    response = page.goto(f"/leads/{leads['bob'].pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Bobs")).to_have_count(0)
    screenshot(page, "not_found")


def test_rep_moves_a_lead_and_an_illegal_move_shows_the_rule(page, alice, leads, screenshot):
    lead = leads["alice"]
    log_in(page, alice.username, DEMO_PASSWORD)
    page.goto("/leads/")  # a rep lands on the queue; the lead list is one link away
    page.get_by_role("link", name="Alices Prospect").click()
    expect(page.get_by_test_id("stage")).to_have_text("Inquiry")
    # A form from an older page, or a hand-edited one, can ask for a move the table forbids.
    page.locator("#id_to_stage").evaluate("s => s.add(new Option('Won', 'won'))")
    page.locator("#id_to_stage").select_option("won")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("alert")).to_contain_text("A lead cannot move from Inquiry to Won.")
    expect(page.get_by_test_id("stage")).to_have_text("Inquiry")
    assert Lead.objects.get(pk=lead.pk).stage == Stage.INQUIRY

    page.locator("#id_to_stage").select_option("mql")
    page.get_by_label("Reason").fill("asked for pricing")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status")).to_contain_text("Moved to MQL.")
    expect(page.get_by_test_id("stage")).to_have_text("MQL")
    expect(page.locator(".timeline")).to_contain_text("asked for pricing")
    screenshot(page, "lead_detail")


def test_stale_page_shows_the_conflict_instead_of_overwriting(page, alice, bob, leads):
    lead = leads["alice"]
    log_in(page, alice.username, DEMO_PASSWORD)
    page.goto(f"/leads/{lead.pk}/")
    lead_stage_change(lead=Lead.objects.get(pk=lead.pk), to_stage=Stage.NURTURE, by=bob)
    page.locator("#id_to_stage").select_option("mql")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("alert")).to_contain_text("someone else changed it")
    expect(page.get_by_test_id("stage")).to_have_text("Nurture")


def test_more_leads_loads_the_next_page_in_place(page, marketer, alice, screenshot):
    for i in range(55):
        LeadFactory(first_name=f"Person{i:02d}", owner=alice if i % 2 else None)
    log_in(page, marketer.username, DEMO_PASSWORD)
    rows = page.locator("#lead-rows tr[data-lead]")
    expect(rows).to_have_count(50)
    screenshot(page, "lead_list")
    page.get_by_test_id("more").click()
    expect(rows).to_have_count(55)
    expect(page).to_have_url(re.compile(r"/leads/$"))
    expect(page.get_by_test_id("more")).to_have_count(0)


def test_filters_are_in_the_url_and_bad_ones_are_named(page, marketer, leads, screenshot):
    log_in(page, marketer.username, DEMO_PASSWORD)
    page.get_by_label("Search").fill("glob")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=glob"))
    expect(page.locator("#lead-rows tr[data-lead]")).to_have_count(1)
    page.goto("/leads/?stage=bogus&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    expect(page.get_by_test_id("filter-errors")).to_contain_text("Stage")
    expect(page.get_by_label("Search")).to_have_value("<script>alert(1)</script>")
    screenshot(page, "bad_filters")
