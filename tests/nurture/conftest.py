from __future__ import annotations

import pytest

from leads.lifecycle import Stage
from leads.models import AssignmentRule, Lead, RuleField
from nurture.services.tracks import step_add, track_activate, track_create
from tests.factories import LeadFactory


def three_step_track(*, by, slug: str = "accelerate", name: str = "Accelerate", **fields):
    """Build and activate a track: email (day 0), call task (day 2), email (day 3)."""
    track = track_create(by=by, name=name, slug=slug, audience_grades=["B"], **fields)
    step_add(
        track=track,
        by=by,
        wait_days=0,
        channel="email",
        subject="{{ first_name }}, a guide for {{ company }}",
        body="Hi {{ first_name }},\n\nHere is our guide: {{ content_link }}\n\n{{ rep }}",
        content_url="https://example.com/guide",
    )
    step_add(track=track, by=by, wait_days=2, channel="call", subject="", body="Call {{ first_name }} about the guide")
    step_add(
        track=track,
        by=by,
        wait_days=3,
        channel="email",
        subject="Case study for {{ company }}",
        body="{{ first_name }}, see how others did it: {{ content_link }}",
        content_url="https://example.com/case-study",
    )
    return track_activate(track=track, by=by)


@pytest.fixture
def track(marketer):
    return three_step_track(by=marketer)


def b_lead(**fields) -> Lead:
    """A lead the default definition grades B (67 points): one more email click (+3) makes it an A."""
    values = {
        "first_name": "Bea",
        "company_name": "Acme Corp",
        "title": "VP Engineering",
        "authority": "decision_maker",
        "employees": 500,
        "industry": "software",
        "timeframe": "now",
        "budget": 1000,
        "country": "US",
    }
    values.update(fields)
    return LeadFactory(**values)


@pytest.fixture
def sales_team(alice, team_east):
    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    return team_east


def nurture_lead(**fields) -> Lead:
    from leads.services.lifecycle import lead_stage_change

    lead = b_lead(**fields)
    return lead_stage_change(lead=lead, to_stage=Stage.NURTURE)
