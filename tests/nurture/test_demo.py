from __future__ import annotations

import pytest
from django.core.management import call_command

from nurture.models import Enrolment, Track

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_three_routed_tracks_once_and_enrols_nurture_leads():
    call_command("seed_demo", leads=300)
    tracks = {t.slug: t for t in Track.objects.all()}
    assert set(tracks) == {"accelerate", "educate", "long-term"}
    assert all(t.status == "active" and t.steps.exists() for t in tracks.values())
    assert tracks["educate"].is_default_return
    enrolled = Enrolment.objects.filter(status="active").count()
    assert enrolled > 0
    assert not Enrolment.objects.exclude(lead__stage="nurture").exists()

    Track.objects.filter(slug="educate").update(name="Educate, edited")
    call_command("seed_demo", leads=300)
    assert Track.objects.count() == 3 and Track.objects.get(slug="educate").name == "Educate, edited"
    assert Enrolment.objects.filter(status="active").count() == enrolled
