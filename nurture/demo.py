"""The three default tracks the ULD's routes name (accelerate, educate, long-term), and demo enrolments.

Demo and first-run convenience: `seed_demo` calls these; each is idempotent (a track that exists, by
slug, is left as the marketer edited it).
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Lead
from nurture.models import Enrolment, Step, Track
from nurture.services.enrolment import enrolment_create

GUIDE = "https://example.com/resources"

DEFAULT_TRACKS = [
    {
        "slug": "accelerate",
        "name": "Accelerate (B leads)",
        "description": "Nearly sales-ready: proof and a clear next step, close together.",
        "audience_grades": ["B"],
        "audience_reasons": ["not_now"],
        "steps": [
            (
                0,
                "email",
                "{{ first_name }}, how teams like {{ company }} cut lead response time",
                "Hi {{ first_name }},\n\nA short case study you might like: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/case-study",
            ),
            (
                3,
                "email",
                "The pricing guide for {{ company }}",
                "Hi {{ first_name }},\n\nWhat it costs and what it returns: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/pricing-guide",
            ),
            (
                4,
                "call",
                "",
                "Call {{ first_name }} at {{ company }}: did the pricing guide answer their questions?",
                "",
            ),
            (
                5,
                "email",
                "Join our live demo, {{ first_name }}",
                "Hi {{ first_name }},\n\nSee it live and ask anything: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/webinar",
            ),
        ],
    },
    {
        "slug": "educate",
        "name": "Educate (C leads)",
        "description": "Interested but early: teach, one idea per email.",
        "audience_grades": ["C"],
        "audience_reasons": ["no_budget", "no_response"],
        "is_default_return": True,
        "steps": [
            (
                0,
                "email",
                "A guide to lead scoring for {{ company }}",
                "Hi {{ first_name }},\n\nOur guide: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/lead-scoring-guide",
            ),
            (
                7,
                "email",
                "Five funnel metrics that matter",
                "Hi {{ first_name }},\n\n{{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/funnel-metrics",
            ),
            (7, "social", "", "Connect with {{ first_name }} and share the funnel metrics post", ""),
            (
                10,
                "email",
                "How marketing and sales agree on a lead",
                "Hi {{ first_name }},\n\n{{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/lead-definition",
            ),
        ],
    },
    {
        "slug": "long-term",
        "name": "Long term (D leads)",
        "description": "Stay in touch once a month until the timing is right.",
        "audience_grades": ["D"],
        "audience_reasons": [],
        "steps": [
            (
                0,
                "email",
                "Welcome, {{ first_name }}",
                "Hi {{ first_name }},\n\nHere is what we write about: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/newsletter",
            ),
            (
                30,
                "email",
                "This month in revenue operations",
                "Hi {{ first_name }},\n\n{{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/monthly",
            ),
            (
                30,
                "email",
                "Still a fit, {{ first_name }}?",
                "Hi {{ first_name }},\n\nOur latest report: {{ content_link }}\n\n{{ rep }}",
                f"{GUIDE}/report",
            ),
        ],
    },
]


@transaction.atomic
def default_tracks_ensure(*, owner=None) -> list[Track]:
    """Create the default tracks (active, with their steps) that do not exist yet, by slug."""
    if owner is None:
        owner = get_user_model().objects.filter(username="marketer").first()
    tracks = []
    for spec in DEFAULT_TRACKS:
        track = Track.objects.filter(slug=spec["slug"]).first()
        if track is None:
            default = spec.get("is_default_return", False) and not Track.objects.filter(is_default_return=True).exists()
            track = Track.objects.create(
                slug=spec["slug"],
                name=spec["name"],
                description=spec["description"],
                owner=owner,
                status=Track.Status.ACTIVE,
                audience_grades=spec["audience_grades"],
                audience_reasons=spec["audience_reasons"],
                is_default_return=default,
            )
            Step.objects.bulk_create(
                Step(
                    track=track,
                    position=i,
                    wait_days=wait,
                    channel=channel,
                    subject=subject,
                    body=body,
                    content_url=url,
                )
                for i, (wait, channel, subject, body, url) in enumerate(spec["steps"], start=1)
            )
        tracks.append(track)
    return tracks


def demo_enrolments_seed(*, limit: int = 80, seed: int = 42, now: dt.datetime | None = None) -> int:
    """Enrol demo leads in nurture with no track into the track for their grade, started over the past weeks."""
    now = now or timezone.now()
    rng = random.Random(seed)
    by_grade = {g: t for t in Track.objects.filter(status=Track.Status.ACTIVE) for g in t.audience_grades}
    leads = (
        Lead.objects.filter(stage=Stage.NURTURE, owner__isnull=True, grade__in=list(by_grade))
        .exclude(nurture_enrolments__status=Enrolment.Status.ACTIVE)
        .order_by("pk")[:limit]
    )
    enrolled = 0
    for lead in leads:
        at = now - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
        enrolment_create(lead=lead, track=by_grade[lead.grade], source=Enrolment.Source.ROUTING, at=at)
        enrolled += 1
    return enrolled
