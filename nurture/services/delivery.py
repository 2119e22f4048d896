"""Advancing enrolments: each due step is claimed once (a unique row per enrolment and step), then sent.

The claim commits before the email goes out, so no lock is held during SMTP and a second beat process or
a redelivered task finds the step already claimed: a step is sent at most once per enrolment.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks

from leads.models import Activity, Lead
from leads.models.activity import ActivityKind
from nurture.content import merge_values, render
from nurture.models import Channel, Delivery, Enrolment, ExitReason, Step, Suppression, Track
from nurture.services.enrolment import enrolment_create, sales_worked_check, touches_add
from nurture.tokens import click_token, unsubscribe_token

logger = logging.getLogger(__name__)
BATCH = 200
# After its last step a lead stays in the track this long before the track counts as completed, so a
# response to the last touch (a click that makes it sales-ready) is credited to this track.
COMPLETE_AFTER_DAYS = 7
# A claimed email not sent after this long was lost with its worker (killed between claim and send).
STALE_CLAIM = dt.timedelta(minutes=30)


def absolute(path: str) -> str:
    return settings.LEADOPS_BASE_URL.rstrip("/") + path


def enrolments_due(*, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Return ids of active enrolments in active tracks whose next step is due, oldest due first."""
    return list(
        Enrolment.objects.filter(
            status=Enrolment.Status.ACTIVE, next_due_at__lte=now, track__status=Track.Status.ACTIVE
        )
        .order_by("next_due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass
class Claim:
    delivery_id: int
    send_email: bool


def _complete(enrolment: Enrolment, now: dt.datetime) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=Enrolment.Status.EXITED,
        exit_reason=ExitReason.COMPLETED,
        exited_at=now,
        next_due_at=None,
        next_step=None,
    )
    track = enrolment.track
    if track.on_complete == Track.OnComplete.RECYCLE and track.recycle_track_id:
        target = Track.objects.get(pk=track.recycle_track_id)
        if target.status == Track.Status.ACTIVE:
            enrolment_create(
                lead=enrolment.lead,
                track=target,
                source=Enrolment.Source.RECYCLE,
                at=now,
                start_after_days=track.recycle_after_days,
            )


def _skip_reason(step: Step, lead: Lead, enrolment: Enrolment) -> str:
    if step.skip_if and Activity.objects.filter(lead=lead, kind=step.skip_if).exists():
        return f"Skipped: the lead already did {step.get_skip_if_display().removeprefix('the lead ')}."
    if step.channel == Channel.EMAIL:
        if not lead.email:
            return "Skipped: the lead has no email address (it gets task steps only)."
        if Suppression.objects.filter(lead=lead).exists():
            return "Skipped: the lead unsubscribed or bounced."
    return ""


@transaction.atomic
def _claim(*, enrolment_id: int, now: dt.datetime) -> Claim | None:
    """Claim the enrolment's due step: record its delivery and move the enrolment to the next step."""
    enrolment = (
        Enrolment.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("track", "next_step", "lead")
        .filter(pk=enrolment_id, status=Enrolment.Status.ACTIVE, next_due_at__lte=now)
        .first()
    )
    if enrolment is None:
        return None  # another process has it, or it is not due any more
    lead = enrolment.lead
    exit_reason = sales_worked_check(enrolment=enrolment, lead=lead, at=now)
    if exit_reason:
        Enrolment.objects.filter(pk=enrolment.pk).update(
            status=Enrolment.Status.EXITED, exit_reason=exit_reason, exited_at=now, next_due_at=None
        )
        return None
    step = enrolment.next_step
    if step is None:
        _complete(enrolment, now)
        return None
    skip = _skip_reason(step, lead, enrolment)
    if step.channel == Channel.EMAIL:
        status = Delivery.Status.SKIPPED if skip else Delivery.Status.CLAIMED
    else:
        status = Delivery.Status.SKIPPED if skip else Delivery.Status.TASK_OPEN
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                enrolment=enrolment,
                step=step,
                lead=lead,
                channel=step.channel,
                status=status,
                note=skip,
                assignee=enrolment.track.owner if step.channel != Channel.EMAIL else None,
                created_at=now,
            )
    except IntegrityError:
        # This step was already delivered to this enrolment (a redelivered task on another connection).
        return None
    following = enrolment.track.steps.filter(position__gt=step.position).order_by("position").first()
    Enrolment.objects.filter(pk=enrolment.pk).update(
        next_step=following,
        next_due_at=now + dt.timedelta(days=following.wait_days if following else COMPLETE_AFTER_DAYS),
        steps_done=enrolment.steps_done + 1,
    )
    return Claim(delivery_id=delivery.pk, send_email=status == Delivery.Status.CLAIMED)


def _message(delivery: Delivery) -> EmailMultiAlternatives:
    step, lead, track = delivery.step, delivery.lead, delivery.enrolment.track
    rep = track.owner.get_full_name() or track.owner.get_username() if track.owner else "The team"
    unsubscribe = absolute(reverse("nurture:unsubscribe", args=[unsubscribe_token(lead.pk)]))
    click = absolute(reverse("nurture:click", args=[click_token(delivery.pk)])) if step.content_url else ""
    values = merge_values(lead=lead, rep_name=rep, content_link=click, unsubscribe_link=unsubscribe)
    subject = render(step.subject, values).replace("\n", " ")
    body = render(step.body, values)
    if click and click not in body:
        body += f"\n\n{click}"
    text = f"{body}\n\n--\nNo more of these emails: {unsubscribe}\n"
    html_values = {k: escape(v) for k, v in values.items()}
    if click:
        html_values["content_link"] = f'<a href="{escape(click)}">{escape(click)}</a>'
    html = linebreaks(render(escape(step.body), html_values)) + (
        f'<p><small><a href="{escape(unsubscribe)}">Unsubscribe</a></small></p>'
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[lead.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            # RFC 8058 one-click: mail clients POST this to the unsubscribe link.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _send(delivery_id: int, now: dt.datetime) -> bool:
    delivery = Delivery.objects.select_related("step", "lead", "enrolment__track__owner").get(pk=delivery_id)
    # The invariant is checked again at the last moment: an unsubscribe may have landed since the claim.
    if Suppression.objects.filter(lead_id=delivery.lead_id).exists():
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED).update(
            status=Delivery.Status.SKIPPED, note="Skipped: the lead unsubscribed or bounced."
        )
        return False
    try:
        _message(delivery).send()
    except smtplib.SMTPRecipientsRefused as exc:
        from nurture.services.engagement import lead_bounce_record

        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, note=str(exc)[:300])
        lead_bounce_record(lead_id=delivery.lead_id, detail=str(exc)[:300])
        return False
    except (smtplib.SMTPException, OSError) as exc:
        # Not retried: a retry could send twice if the server took the message before failing.
        logger.exception("nurture delivery %s failed", delivery_id)
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, note=str(exc)[:300])
        return False
    with transaction.atomic():
        if Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED).update(
            status=Delivery.Status.SENT, done_at=now
        ):
            Activity.objects.create(
                lead_id=delivery.lead_id,
                kind=ActivityKind.NURTURE_EMAIL,
                source="nurture",
                occurred_at=now,
                payload={
                    "track": delivery.enrolment.track.name,
                    "step": delivery.step.position,
                    "subject": render(delivery.step.subject, merge_values(lead=delivery.lead, rep_name="")),
                },
            )
            touches_add(lead_id=delivery.lead_id)
    return True


def enrolment_advance(*, enrolment_id: int, now: dt.datetime | None = None) -> int:
    """Deliver the enrolment's due step, if it is due and nobody else has; return emails sent (0 or 1)."""
    now = now or timezone.now()
    claim = _claim(enrolment_id=enrolment_id, now=now)
    if claim is None or not claim.send_email:
        return 0
    return int(_send(claim.delivery_id, now))


def enrolments_advance_due(*, now: dt.datetime | None = None, limit: int = BATCH, max_rounds: int = 20) -> int:
    """Advance every due enrolment, a batch at a time; a step whose wait is zero follows in the next round."""
    now = now or timezone.now()
    sent = 0
    for _ in range(max_rounds):
        ids = enrolments_due(now=now, limit=limit)
        if not ids:
            break
        for enrolment_id in ids:
            sent += enrolment_advance(enrolment_id=enrolment_id, now=now)
    return sent


def deliveries_stale_fail(*, now: dt.datetime | None = None) -> int:
    """Mark emails claimed long ago and never sent as failed, so results show them; return how many.

    Sending is at most once by design (a retry could send twice if the worker died after the mail
    server took the message), so a worker killed between claim and send loses that one email; this
    makes the loss visible instead of leaving it "sending" for ever. The enrolment has already moved on.
    """
    now = now or timezone.now()
    return Delivery.objects.filter(status=Delivery.Status.CLAIMED, created_at__lt=now - STALE_CLAIM).update(
        status=Delivery.Status.FAILED,
        note="Not sent: the worker stopped between claiming and sending it. Not retried, so it is never sent twice.",
    )


@transaction.atomic
def task_complete(*, delivery: Delivery, by, note: str = "") -> Delivery:
    """Mark a nurture task (call, social touch) done: it counts as a nurture touch on the lead's timeline."""
    from leadops.errors import ApplicationError
    from nurture.services.tracks import require_marketer

    require_marketer(by)
    now = timezone.now()
    if not Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.TASK_OPEN).update(
        status=Delivery.Status.TASK_DONE, done_at=now, note=(note or "").strip()[:300]
    ):
        raise ApplicationError("This task is already done.", code="conflict")
    Activity.objects.create(
        lead_id=delivery.lead_id,
        kind=ActivityKind.NOTE,
        recorded_by=by,
        source="nurture",
        occurred_at=now,
        payload={"nurture_task": delivery.get_channel_display(), "track": delivery.step.track.name, "note": note},
    )
    touches_add(lead_id=delivery.lead_id)
    delivery.refresh_from_db()
    return delivery
