"""A small known history in March 2026, whose every report number is computed by hand in the tests.

All times UTC (the test settings' time zone). Campaigns: Webinar (3,000, 1–30 March) and Expo (1,000,
15 Feb–16 March: 16 of its 30 days fall in March, so 533.33).

- L1 inbound/Webinar: inquiry 2 Mar 09:00 → MQL 3rd → SAL 4th (alice) → SQL 6th → opportunity 10th
  (amount 10,000) → won 20th (amount 12,000). Call 4th 15:00. Grade A.
- L2 inbound/Webinar: inquiry 2nd 10:00 → MQL 5th → nurture 6th → MQL 16th → SAL 17th (bob). Never touched.
- L3 event/Expo: inquiry 5th 12:00 → SAL 5th 18:00 (alice; skips MQL) → SQL 8th → opportunity 9th
  (5,000) → lost 25th. Email 6th 06:00. Grade A.
- L4 outbound/no campaign: created 10th 08:00 owned by charlie → MQL 11th → SAL 12th, owner becomes bob.
  Call 10th 10:00. Grade C.
- L5 inbound/Webinar, created 25 Feb: MQL 1 Mar → SAL 3rd (alice) → SQL 4th → opportunity 5th (8,000)
  → won 13th. Meeting 3rd 04:00. Grade B.
- L6 nurture/no campaign: inquiry 20th, nothing else.  L7: created 1 April (outside March).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leads.lifecycle import Stage
from leads.models import Lead, ULDVersion
from leads.services.activities import activity_record
from leads.services.lifecycle import lead_create, lead_stage_change
from tests.factories import CampaignFactory


def at(month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def _moves(lead: Lead, *moves) -> Lead:
    for move in moves:
        stage, when, *rest = move
        changes = rest[0] if rest else None
        lead = lead_stage_change(lead=lead, to_stage=stage, at=when, changes=changes)
    return lead


@pytest.fixture
def march(alice, bob, charlie):
    webinar = CampaignFactory(
        name="Webinar", cost=Decimal("3000"), starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 30)
    )
    expo = CampaignFactory(
        name="Expo", cost=Decimal("1000"), starts_on=dt.date(2026, 2, 15), ends_on=dt.date(2026, 3, 16)
    )
    l1 = lead_create(email="l1@x.example", source_channel="inbound", campaign=webinar, at=at(3, 2, 9))
    _moves(
        l1,
        (Stage.MQL, at(3, 3, 9)),
        (Stage.SAL, at(3, 4, 9), {"owner": alice}),
        (Stage.SQL, at(3, 6, 9)),
        (Stage.OPPORTUNITY, at(3, 10, 9), {"deal_amount": Decimal("10000")}),
        (Stage.WON, at(3, 20, 9), {"deal_amount": Decimal("12000")}),
    )
    activity_record(lead=l1, kind="call", by=alice, occurred_at=at(3, 4, 15))
    l2 = lead_create(email="l2@x.example", source_channel="inbound", campaign=webinar, at=at(3, 2, 10))
    _moves(
        l2,
        (Stage.MQL, at(3, 5, 10)),
        (Stage.NURTURE, at(3, 6, 10)),
        (Stage.MQL, at(3, 16, 10)),
        (Stage.SAL, at(3, 17, 10), {"owner": bob}),
    )
    activity_record(lead=l2, kind="email_open", occurred_at=at(3, 18, 10))
    l3 = lead_create(email="l3@x.example", source_channel="event", campaign=expo, at=at(3, 5, 12))
    _moves(
        l3,
        (Stage.SAL, at(3, 5, 18), {"owner": alice}),
        (Stage.SQL, at(3, 8, 12)),
        (Stage.OPPORTUNITY, at(3, 9, 12), {"deal_amount": Decimal("5000")}),
        (Stage.LOST, at(3, 25, 12)),
    )
    activity_record(lead=l3, kind="email_sent", by=alice, occurred_at=at(3, 6, 6))
    l4 = lead_create(email="l4@x.example", source_channel="outbound", owner=charlie, at=at(3, 10, 8))
    _moves(l4, (Stage.MQL, at(3, 11, 8)), (Stage.SAL, at(3, 12, 8), {"owner": bob}))
    activity_record(lead=l4, kind="call", by=charlie, occurred_at=at(3, 10, 10))
    activity_record(lead=l4, kind="call", by=bob, occurred_at=at(3, 12, 20))
    l5 = lead_create(email="l5@x.example", source_channel="inbound", campaign=webinar, at=at(2, 25))
    _moves(
        l5,
        (Stage.MQL, at(3, 1)),
        (Stage.SAL, at(3, 3), {"owner": alice}),
        (Stage.SQL, at(3, 4)),
        (Stage.OPPORTUNITY, at(3, 5), {"deal_amount": Decimal("8000")}),
        (Stage.WON, at(3, 13)),
    )
    activity_record(lead=l5, kind="meeting", by=alice, occurred_at=at(3, 3, 4))
    l6 = lead_create(email="l6@x.example", source_channel="nurture", at=at(3, 20))
    l7 = lead_create(email="l7@x.example", source_channel="inbound", campaign=webinar, at=at(4, 1))
    for lead, grade in ((l1, "A"), (l3, "A"), (l4, "C"), (l5, "B")):
        Lead.objects.filter(pk=lead.pk).update(grade=grade)
    return {"webinar": webinar, "expo": expo, "leads": [l1, l2, l3, l4, l5, l6, l7]}


@pytest.fixture
def queue_march(march, alice, bob, charlie):
    """March with the rep queue and ULD on top (every number hand-computed in test_queue_reports.py).

    - ULD versions 11 and 12: L1 and L3 qualified under version 11, L5 under version 12.
    - First-touch SLA (now = 31 March 12:00): L5 alice due 3rd 04:00, touched 04:00 (met, on the dot);
      L3 alice due 6th 10:00, touched 06:00 (met); L1 alice due 4th 13:00, touched 15:00 (breached);
      L2 bob due 17th 14:00, untouched (breached); L4 bob due 31st 20:00, untouched (pending);
      L6 charlie due 20th 04:00, touched 02:00 (met).
    - No response: L2 (bob) back to nurture 26th with 2 calls before (one more after);
      L4 (bob) on the 27th with 8 (charlie's and bob's 2 calls plus 6 more by bob).
    - Rejection notes: L1 bad fit (alice, 21st), L3 no budget (alice, 26th), L2 no budget (bob, 26th);
      ignored: a note without a route on L1, and L7's rejection on 2 April.
    """
    l1, l2, l3, l4, l5, l6, l7 = march["leads"]
    v1 = ULDVersion.objects.create(number=11)
    v2 = ULDVersion.objects.create(number=12)
    Lead.objects.filter(pk__in=[l1.pk, l3.pk]).update(qualified_uld_version=v1)
    Lead.objects.filter(pk=l5.pk).update(qualified_uld_version=v2)
    Lead.objects.filter(pk=l6.pk).update(owner=charlie)
    sla = {
        l5: (at(3, 3), at(3, 3, 4), at(3, 3, 4)),
        l3: (at(3, 5, 18), at(3, 6, 10), at(3, 6, 6)),
        l1: (at(3, 4, 9), at(3, 4, 13), at(3, 4, 15)),
        l2: (at(3, 17, 10), at(3, 17, 14), None),
        l4: (at(3, 31, 8), at(3, 31, 20), None),
        l6: (at(3, 20), at(3, 20, 4), at(3, 20, 2)),
    }
    for lead, (assigned, due, touched) in sla.items():
        Lead.objects.filter(pk=lead.pk).update(assigned_at=assigned, first_touch_due_at=due, first_touch_at=touched)
    for day in (18, 19, 27):
        activity_record(lead=l2, kind="call", by=bob, occurred_at=at(3, day, 9))
    lead_stage_change(
        lead=Lead.objects.get(pk=l2.pk), to_stage=Stage.NURTURE, at=at(3, 26, 12), reason="No response after 2 touches"
    )
    for day in range(13, 19):
        activity_record(lead=l4, kind="call", by=bob, occurred_at=at(3, day, 9))
    lead_stage_change(
        lead=Lead.objects.get(pk=l4.pk), to_stage=Stage.NURTURE, at=at(3, 27, 12), reason="No response after 8 touches"
    )
    notes = [
        (l1, alice, "bad_fit", "disqualify", at(3, 21)),
        (l3, alice, "no_budget", "return_to_nurture", at(3, 26)),
        (l2, bob, "no_budget", "return_to_nurture", at(3, 26)),
        (l7, alice, "bad_fit", "disqualify", at(4, 2)),
    ]
    for lead, by, reason, route, when in notes:
        payload = {"reason": reason, "route": route, "comment": "From the call."}
        activity_record(lead=lead, kind="note", by=by, occurred_at=when, payload=payload)
    activity_record(lead=l1, kind="note", by=alice, occurred_at=at(3, 22), payload={"text": "Sent the brochure."})
    return {**march, "versions": [v1, v2]}
