"""Reads for the nurture pages: track counts, results per track, a lead's enrolment, open tasks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from leads.lifecycle import Stage
from leads.models import Lead, RoutingDecision
from nurture.models import Delivery, Enrolment, ExitReason, Step, Suppression, Track


def track_list() -> QuerySet[Track]:
    """Return every track with its step count, active enrolments, total enrolled and sales-ready exits."""
    return Track.objects.select_related("owner", "recycle_track").annotate(
        step_count=Count("steps", distinct=True),
        active_count=Count("enrolments", filter=Q(enrolments__status="active"), distinct=True),
        enrolled_count=Count("enrolments", distinct=True),
        sales_ready_count=Count("enrolments", filter=Q(enrolments__exit_reason=ExitReason.SALES_READY), distinct=True),
    )


def track_get(*, slug: str) -> Track:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(Track.objects.select_related("owner", "recycle_track"), slug=slug)


def routes_waiting() -> list[dict]:
    """Return nurture routes with pending decisions (their track is missing or not active), with counts."""
    return list(
        RoutingDecision.objects.filter(status=RoutingDecision.Status.PENDING, route__startswith="nurture:")
        .values("route")
        .annotate(leads=Count("lead", distinct=True))
        .order_by("route")
    )


def nurture_leads_without_track() -> int:
    """Count leads in nurture with no active enrolment (parked, or returned with no track for the reason)."""
    return Lead.objects.filter(stage=Stage.NURTURE).exclude(nurture_enrolments__status="active").count()


@dataclass
class TrackResults:
    enrolled: int
    active: int
    at_step: list[tuple[Step, int]]
    exits: dict[str, int]
    sent: int

    @property
    def sales_ready(self) -> int:
        return self.exits.get(ExitReason.SALES_READY, 0)

    @property
    def conversion_percent(self) -> float | None:
        return round(100 * self.sales_ready / self.enrolled, 1) if self.enrolled else None


def track_results(*, track: Track) -> TrackResults:
    """Return the track's funnel: enrolled, waiting at each step, exits by reason (sales-ready first)."""
    enrolments = Enrolment.objects.filter(track=track)
    steps = list(track.steps.order_by("position"))
    waiting = dict(
        enrolments.filter(status="active")
        .values_list("next_step")
        .annotate(n=Count("id"))
        .values_list("next_step", "n")
    )
    exits = dict(
        enrolments.filter(status="exited")
        .values_list("exit_reason")
        .annotate(n=Count("id"))
        .values_list("exit_reason", "n")
    )
    return TrackResults(
        enrolled=enrolments.count(),
        active=enrolments.filter(status="active").count(),
        at_step=[(step, waiting.get(step.pk, 0)) for step in steps],
        exits={reason: exits.get(reason, 0) for reason in ExitReason.values},
        sent=Delivery.objects.filter(step__track=track, status=Delivery.Status.SENT).count(),
    )


def tasks_open(*, track: Track | None = None) -> QuerySet[Delivery]:
    tasks = Delivery.objects.filter(status=Delivery.Status.TASK_OPEN).select_related("lead", "step__track", "assignee")
    if track is not None:
        tasks = tasks.filter(step__track=track)
    return tasks.order_by("created_at", "pk")


def lead_enrolment(*, lead: Lead) -> dict:
    """Return the lead's active enrolment and next step, its last enrolment, and its email suppression."""
    active = Enrolment.objects.filter(lead=lead, status="active").select_related("track", "next_step").first()
    last = None
    if active is None:
        last = Enrolment.objects.filter(lead=lead).select_related("track").order_by("-enrolled_at", "-pk").first()
    return {
        "enrolment": active,
        "last_enrolment": last,
        "suppression": Suppression.objects.filter(lead=lead).first(),
        "deliveries": list(
            Delivery.objects.filter(lead=lead).select_related("step__track").order_by("-created_at", "-pk")[:10]
        ),
    }


def tracks_active() -> QuerySet[Track]:
    return Track.objects.filter(status=Track.Status.ACTIVE).order_by("name")


@dataclass
class Preview:
    lead: Lead
    step: Step
    subject: str
    body: str


def step_preview(*, step: Step, lead: Lead) -> Preview:
    """Render the step with a real lead's data, links shown as where they lead."""
    from nurture.content import merge_values, render

    owner = step.track.owner
    rep = (owner.get_full_name() or owner.get_username()) if owner else "The team"
    values = merge_values(
        lead=lead,
        rep_name=rep,
        content_link=f"{step.content_url} (tracked)" if step.content_url else "",
        unsubscribe_link="(unsubscribe link)",
    )
    return Preview(lead=lead, step=step, subject=render(step.subject, values), body=render(step.body, values))


def preview_leads(*, limit: int = 20) -> QuerySet[Lead]:
    """Leads to preview an email with: the most recent nurture leads, then anyone."""
    return Lead.objects.filter(stage=Stage.NURTURE).order_by("-id")[:limit]
