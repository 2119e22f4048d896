"""What leads do with nurture email: clicks (which feed scoring), unsubscribes and bounces."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from leads.models import Activity
from leads.models.activity import ActivityKind
from nurture.models import Delivery, ExitReason, Suppression
from nurture.services.enrolment import enrolment_exit
from nurture.tokens import click_delivery_id, unsubscribe_lead_id

logger = logging.getLogger(__name__)


def click_record(*, token: str) -> str | None:
    """Record an email click for the delivery the token names and re-score the lead at once.

    Return the step's content URL to redirect to (the URL stored in the step, never one from the request),
    or None for a bad token.
    """
    from scoring.services import leads_score

    delivery_id = click_delivery_id(token)
    delivery = Delivery.objects.select_related("step__track").filter(pk=delivery_id).first() if delivery_id else None
    if delivery is None or not delivery.step.content_url:
        return None
    with transaction.atomic():
        Activity.objects.create(
            lead_id=delivery.lead_id,
            kind=ActivityKind.EMAIL_CLICK,
            source="nurture",
            occurred_at=timezone.now(),
            payload={
                "track": delivery.step.track.name,
                "step": delivery.step.position,
                "url": delivery.step.content_url,
            },
        )
    # Scoring right away (the dirty-lead beat would within seconds): a click that makes the lead
    # sales-ready hands it to a rep, and routing ends its enrolment as sales-ready in that transaction.
    try:
        leads_score(lead_ids=[delivery.lead_id])
    except Exception:
        # The click is recorded and the lead marked dirty; the beat task scores it shortly.
        logger.exception("scoring after a nurture click failed for lead %s", delivery.lead_id)
    return delivery.step.content_url


@transaction.atomic
def _suppress(*, lead_id: int, reason: str, detail: str = "") -> bool:
    suppression, created = Suppression.objects.get_or_create(
        lead_id=lead_id, defaults={"reason": reason, "detail": detail}
    )
    exit_reason = ExitReason.UNSUBSCRIBED if reason == Suppression.Reason.UNSUBSCRIBED else ExitReason.BOUNCED
    enrolment_exit(lead_id=lead_id, reason=exit_reason)
    if created:
        Activity.objects.create(
            lead_id=lead_id,
            kind=ActivityKind.NOTE,
            source="nurture",
            payload={"nurture": suppression.get_reason_display(), "detail": detail},
        )
    return created


def unsubscribe_record(*, token: str) -> bool | None:
    """Unsubscribe the lead the token names from nurture email; None for a bad token, else whether it is new."""
    from leads.models import Lead

    lead_id = unsubscribe_lead_id(token)
    if lead_id is None or not Lead.objects.filter(pk=lead_id).exists():
        return None
    return _suppress(lead_id=lead_id, reason=Suppression.Reason.UNSUBSCRIBED)


def lead_bounce_record(*, lead_id: int, detail: str = "") -> bool:
    """Stop emailing a lead whose address bounced, and end its enrolment as bounced."""
    return _suppress(lead_id=lead_id, reason=Suppression.Reason.BOUNCED, detail=detail)
