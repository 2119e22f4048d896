"""Included at api/nurture/ (leadops/urls.py)."""

from __future__ import annotations

from django.urls import path

from nurture import api

app_name = "nurture_api"
urlpatterns = [
    path("tracks/", api.TrackListAPIView.as_view(), name="tracks"),
    path("enrolments/", api.EnrolmentCreateAPIView.as_view(), name="enrol"),
    path("enrolments/<int:lead_id>/", api.LeadEnrolmentAPIView.as_view(), name="lead_enrolment"),
]
