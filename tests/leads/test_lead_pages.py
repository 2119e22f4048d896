"""The lead list's filters (shareable URLs, bad values, hostile search text) and the lead detail page."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.html import escape

from leads.lifecycle import Stage
from leads.services.activities import activity_record
from leads.services.lifecycle import lead_stage_change
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def _shared_dir() -> Path:
    if os.environ.get("LEADOPS_SHARED_DIR"):
        return Path(os.environ["LEADOPS_SHARED_DIR"])
    beside = REPO.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


def _listed_ids(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-lead="(\d+)"', response.content.decode())}


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


def test_filters_by_stage_grade_campaign_and_owner_from_the_url(marketer_client, alice, bob):
    spring = CampaignFactory(name="Spring webinar")
    plain = LeadFactory(owner=alice)
    in_campaign = LeadFactory(owner=bob, campaign=spring)
    moved = LeadFactory(owner=alice)
    lead_stage_change(lead=moved, to_stage=Stage.MQL)
    url = reverse("leads:list")
    assert _listed_ids(marketer_client.get(url, {"stage": "mql"})) == {moved.pk}
    assert _listed_ids(marketer_client.get(url, {"campaign": spring.pk})) == {in_campaign.pk}
    assert _listed_ids(marketer_client.get(url, {"owner": alice.pk})) == {plain.pk, moved.pk}
    assert _listed_ids(marketer_client.get(url, {"owner": alice.pk, "stage": "inquiry"})) == {plain.pk}
    assert _listed_ids(marketer_client.get(url, {"grade": "none"})) == {plain.pk, in_campaign.pk, moved.pk}
    assert _listed_ids(marketer_client.get(url, {"grade": "A"})) == set()


def test_chosen_filters_are_kept_in_the_form_and_in_the_more_link(marketer_client, alice):
    for _ in range(51):
        LeadFactory(owner=alice)
    page = marketer_client.get(reverse("leads:list"), {"stage": "inquiry", "owner": alice.pk}).content.decode()
    assert '<option value="inquiry" selected>' in page
    assert f'<option value="{alice.pk}" selected>' in page
    more = re.search(r'href="\?([^"]+)" data-testid="more"', page).group(1)
    assert f"stage=inquiry&amp;owner={alice.pk}&amp;after=" in more


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"after": "abc"}, "Page cursor"),
        ({"stage": "bogus"}, "Stage"),
        ({"campaign": "-1"}, "Campaign"),
        ({"campaign": "987654"}, "no such campaign"),
        ({"grade": "Z"}, "Grade"),
        ({"owner": "x"}, "Owner"),
        ({"after": "99999999999999999999999"}, "Page cursor"),
        ({"q": "x" * 201}, "Search"),
        ({"q": "nul\x00byte"}, "Search"),
    ],
)
def test_bad_filter_values_are_named_and_ignored(marketer_client, alice, params, named):
    lead = LeadFactory(owner=alice)
    response = marketer_client.get(reverse("leads:list"), params)
    assert response.status_code == 400
    errors = re.search(r'data-testid="filter-errors">(.*?)</section>', response.content.decode(), re.S).group(1)
    assert named in errors
    assert _listed_ids(response) == {lead.pk}


def test_a_bad_filter_does_not_drop_the_good_ones(marketer_client, alice):
    LeadFactory(owner=alice)
    moved = LeadFactory(owner=alice)
    lead_stage_change(lead=moved, to_stage=Stage.MQL)
    response = marketer_client.get(reverse("leads:list"), {"stage": "mql", "after": "abc"})
    assert response.status_code == 400
    assert _listed_ids(response) == {moved.pk}


def test_search_matches_prefixes_of_name_company_and_email(marketer_client):
    ada = LeadFactory(first_name="Ada", last_name="Lovelace", company_name="Analytical Engines", email="ada@ae.example")
    LeadFactory(first_name="Charles", last_name="Babbage", company_name="Difference Ltd", email="cb@dl.example")
    url = reverse("leads:list")
    for q in ("lovel", "ADA", "analytical", "ada@ae", "  Ada  "):
        assert _listed_ids(marketer_client.get(url, {"q": q})) == {ada.pk}, q
    assert _listed_ids(marketer_client.get(url, {"q": "velace"})) == set()
    assert _listed_ids(marketer_client.get(url, {"q": "%"})) == set()


def test_naughty_search_strings_never_fail_and_render_escaped(marketer_client):
    LeadFactory(first_name="Ada")
    strings = json.loads((_shared_dir() / "corpora" / "blns" / "blns.json").read_text(encoding="utf-8"))
    url = reverse("leads:list")
    for text in strings:
        response = marketer_client.get(url, {"q": text})
        assert response.status_code in (200, 400), text
        page = response.content.decode()
        if response.status_code == 200 and text.strip():
            assert f'value="{escape(text)}"' in page, text
        if "<" in text and len(text) > 3:
            assert text not in page, text


def test_detail_shows_facts_timeline_and_only_the_allowed_moves(client, alice):
    campaign = CampaignFactory(name="Autumn fair")
    lead = LeadFactory(
        owner=alice, first_name="Grace", last_name="Hopper", company_name="Navy", campaign=campaign, phone="+1 555"
    )
    activity_record(lead=lead, kind="call", payload={"outcome": "left voicemail"}, source="test")
    lead_stage_change(lead=lead, to_stage=Stage.MQL, by=alice, reason="asked for a demo")
    client.force_login(alice)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Grace Hopper" in page
    assert "Autumn fair" in page
    assert "+1 555" in page
    assert "Inquiry → MQL" in page
    assert "asked for a demo" in page
    assert "left voicemail" in page
    options = re.findall(r'<option value="([a-z]+)">', page)
    assert options == ["sal", "nurture", "disqualified"]
    assert 'name="expected_stage" value="mql"' in page


def test_detail_of_a_won_lead_offers_no_move(client, alice):
    lead = LeadFactory(owner=alice)
    for stage in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON):
        lead_stage_change(lead=lead, to_stage=stage)
    client.force_login(alice)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "This lead is in a final stage." in page
    assert 'name="to_stage"' not in page


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")
