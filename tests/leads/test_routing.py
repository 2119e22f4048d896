"""Routing as the agreed definition says: an A lead that becomes an MQL reaches a rep's queue at once."""

from __future__ import annotations

import pytest

from leads.lifecycle import Stage
from leads.models import AssignmentLog, AssignmentRule, RoutingDecision, RuleField
from leads.selectors_uld import uld_active
from leads.services.activities import activity_record
from scoring.services import leads_score
from tests.scoring.test_rescore import hot_lead

pytestmark = pytest.mark.django_db


def test_an_a_lead_that_qualifies_is_assigned_to_a_rep_and_its_sla_clock_starts(alice, team_east):
    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    lead = hot_lead()
    activity_record(lead=lead, kind="form_fill", payload={"form": "demo"})

    leads_score(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert (lead.stage, lead.grade, lead.owner) == (Stage.MQL, "A", alice)
    assert lead.assigned_at is not None and lead.first_touch_due_at > lead.assigned_at
    decision = RoutingDecision.objects.get(lead=lead)
    assert (decision.route, decision.status) == ("sales_rep", RoutingDecision.Status.DONE)
    assert AssignmentLog.objects.filter(lead=lead, to_owner=alice).count() == 1


def test_an_a_lead_no_rep_can_take_stays_pending_in_the_pool(alice):
    # No assignment rule matches: the decision waits for a manager, the lead has no owner.
    lead = hot_lead()
    activity_record(lead=lead, kind="form_fill", payload={"form": "demo"})

    leads_score(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.owner is None
    assert RoutingDecision.objects.get(lead=lead).status == RoutingDecision.Status.PENDING


def test_nurture_routes_are_recorded_not_assigned(alice, team_east):
    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    version = uld_active()
    version.routes = {**version.routes, "A": "nurture:accelerate"}
    version.save(update_fields=["routes"])
    lead = hot_lead()
    activity_record(lead=lead, kind="form_fill", payload={"form": "demo"})

    leads_score(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.owner is None
    decision = RoutingDecision.objects.get(lead=lead)
    assert (decision.route, decision.status) == ("nurture:accelerate", RoutingDecision.Status.PENDING)
