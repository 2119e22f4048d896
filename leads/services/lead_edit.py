"""Editing a lead's facts (not its stage, score or owner: those have their own services)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.models import Lead, SizeBand
from leads.models.lead import normalise_email
from leads.selectors import lead_scope
from scoring.models import ScoreDirty

# The facts anyone who may work a lead may correct.
EDITABLE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "company_name",
        "website",
        "company_domain",
        "employees",
        "industry",
        "country",
        "region",
        "budget",
        "authority",
        "need",
        "timeframe",
        "campaign",
    }
)


@transaction.atomic
def lead_update(*, lead: Lead, by, changes: dict[str, Any]) -> Lead:
    """Write the given facts of a lead `by` may see, and mark it for re-scoring (fit rules read them)."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be edited here: {', '.join(unknown)}.")
    locked = lead_scope(user=by).locked().filter(pk=lead.pk).first()
    if locked is None:
        raise ApplicationError("No such lead.", code="not_found")
    changes = dict(changes)
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
        if changes["email"]:
            other = Lead.objects.filter(email=changes["email"]).exclude(pk=locked.pk).values_list("pk", flat=True)
            if other:
                raise ApplicationError(
                    f"Another lead has the email {changes['email']}.",
                    code="duplicate",
                    extra={"existing_id": other[0]},
                )
    email = changes.get("email", locked.email)
    phone = (changes.get("phone", locked.phone) or "").strip()
    if not email and not phone:
        raise ApplicationError("A lead needs an email address or a phone number.")
    if "employees" in changes:
        changes["size_band"] = SizeBand.for_employees(changes["employees"])
    if not changes:
        return locked
    try:
        with transaction.atomic():
            Lead.objects.filter(pk=locked.pk).update(**changes, updated_at=timezone.now())
    except IntegrityError as exc:
        raise ApplicationError("Another lead has this email address.", code="duplicate") from exc
    # The lead is locked above, before its dirty mark is written: the lock order of scoring.services.
    # Always a new mark, even if the lead has one: marks are append-only (scoring.models.ScoreDirty).
    ScoreDirty.objects.create(lead_id=locked.pk)
    lead.refresh_from_db()
    return lead
