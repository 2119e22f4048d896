"""Reads of the alignment report that come from the rep queue: SLA compliance, touches before "no response"
and what sales says when it rejects a campaign's leads.

These read the leads, the stage log and the activities directly (no rollup): each is bounded by the
period on an indexed time column and touches only the leads assigned, released or rejected in it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Activity, ActivityKind, Campaign, Lead, Profile, SourceChannel, StageChange
from leads.models.activity import SALES_TOUCH_KINDS
from leads.queue_policy import DEFAULT_REJECTION_REASONS, active_policy
from reporting.filters import ReportFilters, filter_window, lead_dims_q, people_q

NO_RESPONSE_PREFIX = "No response after"
# Buckets of sales touches made before a lead was returned as "no response": (label, lowest, highest).
TOUCH_BUCKETS = (("0–4", 0, 4), ("5–7", 5, 7), ("8–10", 8, 10), ("11–15", 11, 15), ("16 or more", 16, None))


@dataclass(frozen=True)
class SlaLine:
    label: str
    met: int
    breached: int
    pending: int
    compliance: float | None


def _sla_line(label: str, counts: list[int]) -> SlaLine:
    met, breached, pending = counts
    return SlaLine(label, met, breached, pending, met / (met + breached) if met + breached else None)


def sla_compliance(
    *, filters: ReportFilters, owners: frozenset[int] | None, now: dt.datetime | None = None
) -> tuple[SlaLine, list[SlaLine], list[SlaLine]]:
    """Return first-touch SLA compliance overall, per rep and per team, for leads assigned in the period.

    Met: first touched by its due time. Breached: touched late, or still untouched past due. Pending
    (untouched, not due yet) is shown but not in the share. A lead counts for the rep who holds it now
    (`Lead.assigned_at` is when the current owner got it).
    """
    now = now or timezone.now()
    start, end = filter_window(filters)
    leads = Lead.objects.filter(
        lead_dims_q(filters),
        people_q("owner", owners),
        owner__isnull=False,
        assigned_at__gte=start,
        assigned_at__lt=end,
        first_touch_due_at__isnull=False,
    ).values_list("owner_id", "first_touch_due_at", "first_touch_at")
    per_owner: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for owner_id, due, touched in leads:
        if touched is not None:
            per_owner[owner_id][0 if touched <= due else 1] += 1
        else:
            per_owner[owner_id][1 if due < now else 2] += 1
    users = {u.pk: u.get_full_name() or u.username for u in get_user_model().objects.filter(pk__in=list(per_owner))}
    teams = dict(
        Profile.objects.filter(user_id__in=list(per_owner), team__isnull=False).values_list("user_id", "team__name")
    )
    per_team: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    total = [0, 0, 0]
    for owner_id, counts in per_owner.items():
        for i, n in enumerate(counts):
            per_team[teams.get(owner_id, "No team")][i] += n
            total[i] += n
    by_rep = sorted((_sla_line(users.get(o, f"User {o}"), c) for o, c in per_owner.items()), key=lambda x: x.label)
    by_team = sorted((_sla_line(name, c) for name, c in per_team.items()), key=lambda x: x.label)
    return _sla_line("All", total), by_rep, by_team


@dataclass(frozen=True)
class TouchBucket:
    label: str
    leads: int
    share: float | None


def no_response_touches(*, filters: ReportFilters, owners: frozenset[int] | None) -> list[TouchBucket]:
    """Return how many sales touches leads had when they were returned to nurture as "no response".

    Counted from the lead's sales-touch activities up to the move (not the text of the log row), so a
    touch logged after the fact but dated before the move counts. The rep is the owner the log row holds.
    """
    start, end = filter_window(filters)
    moves = list(
        StageChange.objects.filter(
            lead_dims_q(filters, prefix="lead__"),
            people_q("owner", owners),
            changed_at__gte=start,
            changed_at__lt=end,
            to_stage=Stage.NURTURE,
            reason__startswith=NO_RESPONSE_PREFIX,
        ).values_list("lead_id", "changed_at")
    )
    touches: dict[int, list[dt.datetime]] = defaultdict(list)
    for lead_id, occurred_at in Activity.objects.filter(
        lead_id__in={lead_id for lead_id, _ in moves}, kind__in=SALES_TOUCH_KINDS
    ).values_list("lead_id", "occurred_at"):
        touches[lead_id].append(occurred_at)
    counts = [sum(1 for t in touches[lead_id] if t <= changed_at) for lead_id, changed_at in moves]
    buckets = []
    for label, low, high in TOUCH_BUCKETS:
        n = sum(1 for c in counts if c >= low and (high is None or c <= high))
        buckets.append(TouchBucket(label, n, n / len(counts) if counts else None))
    return buckets


@dataclass
class RejectionTable:
    reasons: list[str]  # labels, in column order
    by_campaign: list[tuple[str, list[int]]]
    by_source: list[tuple[str, list[int]]]


def rejection_reasons(*, filters: ReportFilters, owners: frozenset[int] | None) -> RejectionTable:
    """Return how many of each campaign's and each source's leads sales rejected in the period, per reason.

    Read from the rejection notes (their payload's `reason`); the rep is who recorded the note.
    """
    start, end = filter_window(filters)
    notes = Activity.objects.filter(
        lead_dims_q(filters, prefix="lead__"),
        people_q("recorded_by", owners),
        kind=ActivityKind.NOTE,
        occurred_at__gte=start,
        occurred_at__lt=end,
        payload__has_key="route",
    ).values_list("payload", "lead__campaign_id", "lead__source_channel")
    labels = {r.code: r.label for r in DEFAULT_REJECTION_REASONS}
    labels.update({r.code: r.label for r in active_policy().rejection_reasons})
    per_campaign: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    codes: set[str] = set()
    for payload, campaign_id, source in notes:
        code = str(payload.get("reason") or "")
        if not code:
            continue
        codes.add(code)
        per_campaign[campaign_id or 0][code] += 1
        per_source[source][code] += 1
    order = [code for code in labels if code in codes] + sorted(codes - set(labels))
    names = dict(Campaign.objects.filter(pk__in=[c for c in per_campaign if c]).values_list("pk", "name"))
    names[0] = "No campaign"
    source_labels = dict(SourceChannel.choices)

    def line(counts: dict[str, int]) -> list[int]:
        return [counts.get(code, 0) for code in order]

    return RejectionTable(
        [labels.get(code, code) for code in order],
        sorted(((names.get(c, f"Campaign {c}"), line(v)) for c, v in per_campaign.items()), key=lambda x: x[0]),
        sorted(((source_labels.get(s, s), line(v)) for s, v in per_source.items()), key=lambda x: x[0]),
    )
