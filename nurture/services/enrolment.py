"""Enrolling leads in tracks (routing, a rep's return, by hand, in bulk) and taking them out."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import SALES_OPEN, Stage
from leads.models import Lead, RoutingDecision
from leads.services.lifecycle import lead_stage_change
from nurture.models import Enrolment, ExitReason, Track
from nurture.services.tracks import require_marketer

logger = logging.getLogger(__name__)

NURTURE_ROUTE_PREFIX = "nurture:"
# Stages a lead may be enrolled from: it moves to nurture first (the lifecycle logs it).
ENROLLABLE = frozenset({Stage.INQUIRY, Stage.MQL, Stage.NURTURE, Stage.LOST, Stage.DISQUALIFIED})


def _first_due(track: Track, start: dt.datetime):
    first = track.steps.order_by("position").first()
    if first is None:
        return None, None
    return first, start + dt.timedelta(days=first.wait_days)


@transaction.atomic
def enrolment_create(
    *,
    lead: Lead,
    track: Track,
    source: str = Enrolment.Source.MANUAL,
    by=None,
    at: dt.datetime | None = None,
    start_after_days: int = 0,
) -> Enrolment:
    """Enrol the lead in an active track and move it to nurture; one active enrolment per lead."""
    at = at or timezone.now()
    track = Track.objects.get(pk=track.pk)
    if track.status != Track.Status.ACTIVE:
        raise ApplicationError(f"The track {track.name!r} is not active; activate it before enrolling leads.")
    locked = Lead.objects.locked().get(pk=lead.pk)
    name = locked.display_name
    if locked.stage not in ENROLLABLE:
        raise ApplicationError(f"{name} is {locked.get_stage_display()}: sales is working it, so it is not enrolled.")
    if locked.owner_id is not None and locked.stage != Stage.NURTURE:
        raise ApplicationError(f"{name} is in a rep's queue; the rep returns it to nurture, not marketing.")
    current = Enrolment.objects.filter(lead=locked, status=Enrolment.Status.ACTIVE).select_related("track").first()
    if current is not None:
        raise ApplicationError(f"{name} is already enrolled in {current.track.name!r}.", code="conflict")
    if locked.stage != Stage.NURTURE:
        lead_stage_change(
            lead=locked, to_stage=Stage.NURTURE, by=by, reason=f"Enrolled in the nurture track {track.name}", at=at
        )
    step, due = _first_due(track, at + dt.timedelta(days=start_after_days))
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                lead=locked, track=track, source=source, enrolled_by=by, enrolled_at=at, next_step=step, next_due_at=due
            )
    except IntegrityError as exc:
        # Another enrolment of the same lead won the race on the one-active-per-lead index.
        raise ApplicationError(f"{name} is already enrolled in a track.", code="conflict") from exc
    return enrolment


def _exit(enrolment_qs, *, reason: str, at: dt.datetime) -> int:
    return enrolment_qs.filter(status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.EXITED, exit_reason=reason, exited_at=at, next_due_at=None
    )


def enrolment_exit(*, lead_id: int, reason: str, at: dt.datetime | None = None) -> int:
    """End the lead's active enrolment (if any) with `reason`; return 1 if one ended, else 0."""
    if reason not in ExitReason.values:
        raise ApplicationError(f"Unknown exit reason {reason!r}.")
    return _exit(Enrolment.objects.filter(lead_id=lead_id), reason=reason, at=at or timezone.now())


@transaction.atomic
def enrolment_remove(*, lead: Lead, by) -> int:
    """Take the lead out of its track by hand (it stays in nurture, parked)."""
    require_marketer(by)
    if not enrolment_exit(lead_id=lead.pk, reason=ExitReason.REMOVED):
        raise ApplicationError(f"{lead.display_name} is not enrolled in a track.")
    return 1


@transaction.atomic
def enrolment_create_by_hand(*, lead: Lead, track: Track, by, source: str = Enrolment.Source.MANUAL) -> Enrolment:
    require_marketer(by)
    return enrolment_create(lead=lead, track=track, source=source, by=by)


@dataclass
class BulkResult:
    enrolled: int = 0
    refused: list[str] = field(default_factory=list)


def enrolments_create_bulk(*, lead_ids: list[int], track: Track, by) -> BulkResult:
    """Enrol many leads; each is its own unit of work, and each refusal is reported with its reason."""
    require_marketer(by)
    if not lead_ids:
        raise ApplicationError("Tick the leads to enrol first.")
    if len(lead_ids) > 500:
        raise ApplicationError("Enrol at most 500 leads at a time.")
    result = BulkResult()
    for lead in Lead.objects.filter(pk__in=lead_ids).order_by("pk"):
        try:
            enrolment_create(lead=lead, track=track, source=Enrolment.Source.MANUAL, by=by)
        except ApplicationError as exc:
            result.refused.append(exc.message)
        else:
            result.enrolled += 1
    return result


def track_for_route(route: str) -> Track | None:
    if not route.startswith(NURTURE_ROUTE_PREFIX):
        return None
    return Track.objects.filter(slug=route[len(NURTURE_ROUTE_PREFIX) :], status=Track.Status.ACTIVE).first()


@transaction.atomic
def routing_decision_apply(*, decision: RoutingDecision) -> bool:
    """Act on a routing decision: a nurture route enrols the lead; a sales route ends its enrolment.

    A nurture route whose track does not exist (or is not active) stays pending, shown on the track list,
    and is applied when the track goes live.
    """
    if decision.route == "sales_rep":
        enrolment_exit(lead_id=decision.lead_id, reason=ExitReason.SALES_READY, at=decision.decided_at)
        return False
    track = track_for_route(decision.route)
    if track is None or decision.status != RoutingDecision.Status.PENDING:
        return False
    lead = Lead.objects.get(pk=decision.lead_id)
    try:
        with transaction.atomic():
            enrolment_create(lead=lead, track=track, source=Enrolment.Source.ROUTING)
    except ApplicationError as exc:
        logger.info("routing decision %s not applied: %s", decision.pk, exc.message)
        RoutingDecision.objects.filter(pk=decision.pk).update(status=RoutingDecision.Status.CANCELLED)
        return False
    RoutingDecision.objects.filter(pk=decision.pk).update(status=RoutingDecision.Status.DONE)
    decision.status = RoutingDecision.Status.DONE
    return True


def track_for_reason(reason_code: str) -> Track | None:
    """Return the active track whose audience lists the rejection reason, else the default return track."""
    active = Track.objects.filter(status=Track.Status.ACTIVE).order_by("pk")
    for track in active:
        if reason_code in (track.audience_reasons or []):
            return track
    return active.filter(is_default_return=True).first()


def lead_returned_enrol(*, lead: Lead, reason_code: str, by=None) -> Enrolment | None:
    """Enrol a lead sales returned to nurture in the track for its reason (or the default track).

    Called inside the rep's reject / no-response transaction, after the lead has moved to nurture. With
    no track to take it, the lead stays in nurture, parked, and the track list counts it.
    """
    track = track_for_reason(reason_code)
    if track is None:
        return None
    enrolment_exit(lead_id=lead.pk, reason=ExitReason.WORKED_BY_SALES)
    try:
        with transaction.atomic():
            return enrolment_create(lead=lead, track=track, source=Enrolment.Source.REJECTION, by=by)
    except ApplicationError as exc:
        # The rep's rejection stands either way; the lead waits in nurture, parked, for marketing.
        logger.warning("returned lead %s not enrolled in %s: %s", lead.pk, track.slug, exc.message)
        return None


def leads_graded_route(*, limit: int = 500) -> int:
    """Route scored, unowned inquiries whose grade the ULD sends to nurture (B–D by default).

    Scoring hands only sales-ready leads to routing; the rest would wait as inquiries forever. Leads with
    a pending decision (their track does not exist yet) are left alone so they are not routed twice.
    """
    from leads.selectors_uld import uld_active
    from leads.services.routing import lead_route

    version = uld_active()
    if version is None:
        return 0
    grades = [
        g
        for g, route in (version.routes or {}).items()
        if str(route).startswith(NURTURE_ROUTE_PREFIX) and g not in version.sales_ready_grades
    ]
    if not grades:
        return 0
    candidates = (
        Lead.objects.filter(stage=Stage.INQUIRY, owner__isnull=True, grade__in=grades, scored_at__isnull=False)
        .exclude(routing_decisions__status=RoutingDecision.Status.PENDING)
        .exclude(nurture_enrolments__status=Enrolment.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    routed = 0
    for lead_id in list(candidates):
        with transaction.atomic():
            lead = Lead.objects.locked().get(pk=lead_id)
            if lead.stage != Stage.INQUIRY or lead.owner_id is not None:
                continue
            lead_route(lead=lead, uld_version=version, grade=lead.grade)
            routed += 1
    return routed


def routing_pending_apply(*, limit: int = 500) -> int:
    """Apply pending nurture decisions whose track has gone live since they were made."""
    live = [
        f"{NURTURE_ROUTE_PREFIX}{slug}" for slug in Track.objects.filter(status="active").values_list("slug", flat=True)
    ]
    applied = 0
    pending = RoutingDecision.objects.filter(status=RoutingDecision.Status.PENDING, route__in=live).order_by("pk")
    for decision in list(pending[:limit]):
        applied += routing_decision_apply(decision=decision)
    return applied


def sales_worked_check(*, enrolment: Enrolment, lead: Lead, at: dt.datetime) -> str | None:
    """Return the exit reason when the lead is no longer nurture's to work, else None."""
    if lead.stage == Stage.NURTURE and lead.owner_id is None:
        return None
    if lead.stage in SALES_OPEN or lead.stage in (Stage.WON, Stage.LOST) or lead.owner_id is not None:
        return ExitReason.WORKED_BY_SALES
    return ExitReason.LEFT_NURTURE


def touches_add(*, lead_id: int) -> None:
    Lead.objects.filter(pk=lead_id).update(nurture_touches=F("nurture_touches") + 1)
