"""Nurture API: marketing lists tracks and enrols or unenrols a lead; others are refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.lifecycle import Stage
from nurture.models import Enrolment
from tests.nurture.conftest import b_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(marketer):
    client = APIClient()
    client.force_authenticate(marketer)
    return client


def test_marketing_lists_tracks_with_counts(api, track):
    response = api.get("/api/nurture/tracks/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["slug"], row["steps"], row["active"], row["status"]) == ("accelerate", 3, 0, "active")


def test_marketing_enrols_and_unenrols_a_lead(api, track):
    lead = b_lead()
    response = api.post("/api/nurture/enrolments/", {"lead_id": lead.pk, "track": "accelerate"}, format="json")
    assert response.status_code == 201
    assert response.json()["next_step"] == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE

    again = api.post("/api/nurture/enrolments/", {"lead_id": lead.pk, "track": "accelerate"}, format="json")
    assert again.status_code == 409 and "already enrolled" in again.json()["detail"]

    assert api.get(f"/api/nurture/enrolments/{lead.pk}/").json()["track"] == "accelerate"
    assert api.delete(f"/api/nurture/enrolments/{lead.pk}/").status_code == 204
    assert Enrolment.objects.get(lead=lead).exit_reason == "removed"
    assert api.delete(f"/api/nurture/enrolments/{lead.pk}/").status_code == 404


def test_an_unknown_track_or_lead_is_a_clear_400(api, track):
    lead = b_lead()
    response = api.post("/api/nurture/enrolments/", {"lead_id": lead.pk, "track": "nope"}, format="json")
    assert response.status_code == 400 and "nope" in str(response.json())
    response = api.post("/api/nurture/enrolments/", {"lead_id": 999999, "track": "accelerate"}, format="json")
    assert response.status_code == 400 and "No such lead" in str(response.json())


def test_a_rep_may_not_use_the_nurture_api(alice, track):
    client = APIClient()
    client.force_authenticate(alice)
    assert client.get("/api/nurture/tracks/").status_code == 403
    assert (
        client.post("/api/nurture/enrolments/", {"lead_id": 1, "track": "accelerate"}, format="json").status_code == 403
    )
