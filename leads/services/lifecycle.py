"""Every write of a lead's stage: creation as an inquiry and each later move, each logged once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage, allowed_targets, is_allowed
from leads.models import Lead, SizeBand, StageChange
from leads.models.guard import stage_writes_allowed
from leads.models.lead import normalise_email


def _label(stage: str) -> str:
    return Stage(stage).label if stage in Stage.values else stage or "(none)"


def lead_create(
    *, by=None, stage: str = Stage.INQUIRY, at: dt.datetime | None = None, reason: str = "", **fields: Any
) -> Lead:
    """Create a lead at `stage` (an inquiry unless said otherwise) and log its entry into the funnel."""
    at = at or timezone.now()
    fields["email"] = normalise_email(fields.get("email"))
    if not fields["email"] and not (fields.get("phone") or "").strip():
        raise ApplicationError("A lead needs an email address or a phone number.")
    if fields.get("employees") is not None and not fields.get("size_band"):
        fields["size_band"] = SizeBand.for_employees(fields["employees"])
    if fields["email"] and Lead.objects.filter(email=fields["email"]).exists():
        raise ApplicationError(f"A lead with the email {fields['email']} already exists.", code="duplicate")
    lead = Lead(stage=stage, stage_entered_at=at, created_at=at, **fields)
    try:
        with transaction.atomic(), stage_writes_allowed():
            lead.save()
            StageChange.objects.create(
                lead=lead, from_stage="", to_stage=stage, changed_at=at, changed_by=by, owner=lead.owner, reason=reason
            )
    except IntegrityError as exc:
        # A concurrent create of the same email lost the race on the unique index.
        raise ApplicationError(f"A lead with the email {fields['email']} already exists.", code="duplicate") from exc
    return lead


@transaction.atomic
def lead_stage_change(
    *,
    lead: Lead,
    to_stage: str,
    by=None,
    reason: str = "",
    at: dt.datetime | None = None,
    expected_stage: str | None = None,
    changes: dict[str, Any] | None = None,
    uld_version=None,
) -> Lead:
    """Move a lead to `to_stage` if the transition table allows it, and log the move.

    `expected_stage` is the stage the caller saw; if someone moved the lead meanwhile the call is refused
    instead of overwriting their work. `changes` are other fields written in the same unit of work
    (owner on assignment, amount on a win). `uld_version` is logged on moves the definition made.
    """
    at = at or timezone.now()
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if expected_stage is not None and locked.stage != expected_stage:
        raise ApplicationError(
            f"This lead is now {_label(locked.stage)} (it was {_label(expected_stage)} when you opened it); "
            "someone else changed it. Reload to see the current state.",
            code="conflict",
        )
    if to_stage not in Stage.values:
        raise ApplicationError(f"Unknown stage {to_stage!r}.")
    if not is_allowed(locked.stage, to_stage):
        targets = ", ".join(_label(s) for s in allowed_targets(locked.stage)) or "nothing (it is final)"
        raise ApplicationError(
            f"A lead cannot move from {_label(locked.stage)} to {_label(to_stage)}. "
            f"From {_label(locked.stage)} it can move to: {targets}.",
            code="illegal_transition",
        )
    from_stage = locked.stage
    update = {"stage": to_stage, "stage_entered_at": at, "updated_at": timezone.now(), **(changes or {})}
    with stage_writes_allowed():
        Lead.objects.filter(pk=locked.pk).update(**update)
    for name, value in update.items():
        setattr(lead, name, value)
    lead._loaded_stage = to_stage
    StageChange.objects.create(
        lead=lead,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=at,
        changed_by=by,
        owner_id=_owner_id(changes, default=locked.owner_id),
        reason=reason,
        uld_version=uld_version,
    )
    return lead


def _owner_id(changes: dict[str, Any] | None, *, default: int | None) -> int | None:
    if not changes or "owner" not in changes:
        return default
    owner = changes["owner"]
    return owner.pk if owner is not None else None


@transaction.atomic
def leads_bulk_create(*, leads: list[Lead], by=None, reason: str = "", batch_size: int = 1000) -> list[Lead]:
    """Insert many new leads and their entries in the stage log in one transaction (imports, demo data).

    Each lead enters at its own `stage` (inquiry unless set) at its `created_at`. The caller has already
    removed duplicates; the unique index refuses any it missed, rolling back the whole batch.
    """
    for lead in leads:
        lead.email = normalise_email(lead.email)
        if lead.employees is not None and not lead.size_band:
            lead.size_band = SizeBand.for_employees(lead.employees)
        lead.stage_entered_at = lead.created_at
    with stage_writes_allowed():
        created = Lead.objects.bulk_create(leads, batch_size=batch_size)
    StageChange.objects.bulk_create(
        [
            StageChange(
                lead_id=lead.pk,
                from_stage="",
                to_stage=lead.stage,
                changed_at=lead.created_at,
                changed_by=by,
                owner_id=lead.owner_id,
                reason=reason,
            )
            for lead in created
        ],
        batch_size=batch_size,
    )
    for lead in created:
        lead._loaded_stage = lead.stage
    return created
