"""Routing of a newly qualified lead. The queue and nurture capabilities act on the recorded decision;
until they land, routing only records where each lead should go."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from leads.models import Lead, RoutingDecision, ULDVersion


def lead_route(*, lead: Lead, uld_version: ULDVersion, grade: str | None = None, at: dt.datetime | None = None):
    """Record where the lead goes under `uld_version`'s routing (a rep for A, a nurture track otherwise)."""
    grade = grade or lead.grade or "D"
    route = (uld_version.routes or {}).get(grade) or "nurture:default"
    return RoutingDecision.objects.create(
        lead=lead, uld_version=uld_version, grade=grade, route=route, decided_at=at or timezone.now()
    )
