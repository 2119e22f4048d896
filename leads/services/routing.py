"""Routing of a newly qualified lead, as the agreed Universal Lead Definition says.

A route of "sales_rep" (grade A by default) hands the lead to the rep queue's assignment rules and round
robin at once; a lead that no rep can take now (no rule matches, everyone away or at capacity) keeps a
pending decision and waits in the unassigned pool for a manager. "nurture:<track>" routes are recorded
for the nurture capability to act on.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, RoutingDecision, ULDVersion
from leads.services.assignment import lead_assign_auto

SALES_REP_ROUTE = "sales_rep"


@transaction.atomic
def lead_route(
    *, lead: Lead, uld_version: ULDVersion, grade: str | None = None, at: dt.datetime | None = None
) -> RoutingDecision:
    """Record where the lead goes under `uld_version`'s routing, and assign it when the route is a rep."""
    at = at or timezone.now()
    grade = grade or lead.grade or "D"
    route = (uld_version.routes or {}).get(grade) or "nurture:default"
    decision = RoutingDecision.objects.create(
        lead=lead, uld_version=uld_version, grade=grade, route=route, decided_at=at
    )
    if route == SALES_REP_ROUTE and lead_assign_auto(lead=lead, at=at):
        decision.status = RoutingDecision.Status.DONE
        decision.save(update_fields=["status"])
    # Nurture enrols on a nurture route (or leaves it pending until the track exists) and ends a nurture
    # enrolment as sales-ready on a sales route, in this transaction.
    from nurture.services.enrolment import routing_decision_apply

    routing_decision_apply(decision=decision)
    return decision
