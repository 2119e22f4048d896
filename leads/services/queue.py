"""What a rep does from the queue: accept, reject, no response, touches, follow-ups, qualify, convert, close.

Each action locks the lead, checks that the caller may act on it, and refuses a lead that changed since
the caller saw it (`expected_stage`) with a clear message instead of overwriting.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Activity, Lead
from leads.models.activity import ActivityKind
from leads.models.queue import AssignmentKind
from leads.queue_policy import NO_RESPONSE_CODE, Route, active_policy
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_scope
from leads.services.activities import activity_record
from leads.services.assignment import _set_owner, lead_release
from leads.services.lifecycle import lead_create, lead_stage_change
from nurture.services.enrolment import lead_returned_enrol

TOUCH_KINDS = {
    "call": ActivityKind.CALL,
    "email": ActivityKind.EMAIL_SENT,
    "meeting": ActivityKind.MEETING,
    "social": ActivityKind.SOCIAL,
}
TOUCH_OUTCOMES = {
    "connected": "Connected",
    "voicemail": "Left a voicemail",
    "no_answer": "No answer",
    "replied": "Replied",
    "meeting_booked": "Meeting booked",
    "bounced": "Bounced / wrong number",
}


def _lock_for(*, lead: Lead, by) -> Lead:
    """Lock the lead and check `by` may work it: its owner, a manager of its team, or an admin."""
    locked = lead_scope(user=by).locked().filter(pk=lead.pk).first()
    if locked is None:
        raise ApplicationError("This lead is not in your queue.", code="not_found")
    if is_admin(by) or has_role(by, Role.SALES_MANAGER):
        return locked
    if locked.owner_id != by.pk:
        raise ApplicationError("This lead is not in your queue any more; it was reassigned.", code="conflict")
    return locked


def _check_expected(locked: Lead, expected_stage: str | None) -> None:
    if expected_stage is not None and locked.stage != expected_stage:
        raise ApplicationError(
            f"This lead is now {locked.get_stage_display()} (it was {Stage(expected_stage).label} when you "
            "opened it); someone else changed it. Reload to see the current state.",
            code="conflict",
        )


def _refresh(lead: Lead) -> Lead:
    lead.refresh_from_db()
    return lead


@transaction.atomic
def lead_accept(*, lead: Lead, by, expected_stage: str | None = None) -> Lead:
    """Accept a lead into sales: it becomes a sales-accepted lead (SAL)."""
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    if locked.stage == Stage.SAL:
        raise ApplicationError("You have already accepted this lead.", code="conflict")
    if locked.stage not in (Stage.INQUIRY, Stage.MQL):
        raise ApplicationError(f"Only new leads are accepted; this one is {locked.get_stage_display()}.")
    lead_stage_change(lead=locked, to_stage=Stage.SAL, by=by, reason="Accepted by the rep", expected_stage=locked.stage)
    return _refresh(lead)


@transaction.atomic
def lead_reject(
    *,
    lead: Lead,
    by,
    reason_code: str,
    comment: str,
    expected_stage: str | None = None,
    referral_name: str = "",
    referral_email: str = "",
    referral_title: str = "",
    duplicate_of: int | None = None,
) -> Lead:
    """Reject a lead with a structured reason and a comment; the reason's route decides where it goes.

    Return to nurture hands it back to marketing (no owner); disqualify ends it; wrong contact ends it
    and, given a referral, creates a lead for the right person in the same rep's queue; duplicate ends
    it pointing at the lead it duplicates.
    """
    policy = active_policy()
    reason = policy.rejection_reason(reason_code)
    if reason is None:
        codes = ", ".join(r.label for r in policy.rejection_reasons)
        raise ApplicationError(f"Choose a rejection reason ({codes}).")
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError("Add a comment saying why: the next person to see this lead needs it.")
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    text = f"Rejected: {reason.label}. {comment}"
    payload: dict = {"reason": reason.code, "route": reason.route, "comment": comment}
    if reason.route == Route.DUPLICATE and duplicate_of is not None:
        # Only a lead `by` may see: otherwise the answer would tell whether any lead id exists.
        if duplicate_of == locked.pk or not lead_scope(user=by).filter(pk=duplicate_of).exists():
            raise ApplicationError(f"There is no other lead number {duplicate_of} to mark this a duplicate of.")
        payload["duplicate_of"] = duplicate_of
        text += f" Duplicate of lead {duplicate_of}."
    if reason.route == Route.WRONG_CONTACT and (referral_email.strip() or referral_name.strip()):
        payload["referral"] = {"name": referral_name.strip(), "email": referral_email.strip(), "title": referral_title}
    activity_record(lead=locked, kind=ActivityKind.NOTE, by=by, payload=payload)
    if reason.route == Route.RETURN_TO_NURTURE:
        lead_stage_change(lead=locked, to_stage=Stage.NURTURE, by=by, reason=text, expected_stage=locked.stage)
        lead_release(lead=locked, by=by, reason=text)
        lead_returned_enrol(lead=locked, reason_code=reason.code, by=by)
    else:
        lead_stage_change(lead=locked, to_stage=Stage.DISQUALIFIED, by=by, reason=text, expected_stage=locked.stage)
    if "referral" in payload:
        _referral_create(source=locked, by=by, **payload["referral"])
    return _refresh(lead)


def _referral_create(*, source: Lead, by, name: str, email: str, title: str) -> Lead:
    first, _, last = name.partition(" ")
    if not email:
        raise ApplicationError("Give the right person's email address so the referral can be worked.")
    referral = lead_create(
        by=by,
        reason=f"Referred from lead {source.pk}",
        email=email,
        first_name=first,
        last_name=last,
        title=title,
        company_name=source.company_name,
        company_domain=source.company_domain,
        website=source.website,
        employees=source.employees,
        size_band=source.size_band,
        industry=source.industry,
        country=source.country,
        region=source.region,
        campaign=source.campaign,
        source_channel="referral",
    )
    owner = by if has_role(by, Role.SALES_REP) else source.owner
    if owner is not None:
        _set_owner(
            lead=referral,
            to=owner,
            by=by,
            kind=AssignmentKind.CLAIM,
            reason=f"Referral from lead {source.pk}",
            at=timezone.now(),
        )
    return referral


@transaction.atomic
def lead_no_response(*, lead: Lead, by, expected_stage: str | None = None) -> Lead:
    """Return an unresponsive lead to nurture, but only after the policy's minimum number of touches."""
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    needed = active_policy().min_touches_before_no_response
    if locked.sales_touches < needed:
        remaining = needed - locked.sales_touches
        raise ApplicationError(
            f"Not yet: {locked.sales_touches} of {needed} touches made. Make {remaining} more "
            f"touch{'es' if remaining != 1 else ''} before marking this lead as no response.",
            code="too_soon",
        )
    text = f"No response after {locked.sales_touches} touches"
    lead_stage_change(lead=locked, to_stage=Stage.NURTURE, by=by, reason=text, expected_stage=locked.stage)
    lead_release(lead=locked, by=by, reason=text)
    lead_returned_enrol(lead=locked, reason_code=NO_RESPONSE_CODE, by=by)
    return _refresh(lead)


@transaction.atomic
def lead_touch_log(
    *,
    lead: Lead,
    by,
    channel: str,
    outcome: str,
    notes: str = "",
    at: dt.datetime | None = None,
    next_follow_up_at: dt.datetime | None = None,
) -> Activity:
    """Record a call, email, meeting or social touch and schedule the next follow-up by the cadence."""
    if channel not in TOUCH_KINDS:
        raise ApplicationError(f"Choose how you reached out: {', '.join(TOUCH_KINDS)}.")
    if outcome not in TOUCH_OUTCOMES:
        raise ApplicationError(f"Choose an outcome: {', '.join(TOUCH_OUTCOMES.values())}.")
    now = timezone.now()
    at = at or now
    if at > now + dt.timedelta(minutes=5):
        raise ApplicationError("A touch cannot be logged in the future.")
    locked = _lock_for(lead=lead, by=by)
    if locked.stage not in (Stage.INQUIRY, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY):
        raise ApplicationError(f"This lead is {locked.get_stage_display()}; it is no longer worked by sales.")
    activity = activity_record(
        lead=locked,
        kind=TOUCH_KINDS[channel],
        by=by,
        occurred_at=at,
        payload={"outcome": outcome, "notes": notes.strip()},
    )
    touches = locked.sales_touches + 1
    if next_follow_up_at is None:
        next_follow_up_at = at + dt.timedelta(days=active_policy().cadence_days_after(touches))
    elif next_follow_up_at <= now:
        raise ApplicationError("Schedule the next follow-up in the future.")
    fields = {"next_follow_up_at": next_follow_up_at, "reminder_due_at": next_follow_up_at}
    if locked.first_touch_at is None and locked.assigned_at is not None and at >= locked.assigned_at:
        fields["first_touch_at"] = at
    Lead.objects.filter(pk=locked.pk).update(**fields)
    lead.refresh_from_db()
    return activity


@transaction.atomic
def lead_follow_up_schedule(*, lead: Lead, by, at: dt.datetime) -> Lead:
    """Set when the rep will next follow up (a reminder fires then)."""
    if at is None:
        raise ApplicationError("Choose a date and time for the follow-up.")
    if at <= timezone.now():
        raise ApplicationError("Schedule the follow-up in the future.")
    locked = _lock_for(lead=lead, by=by)
    if locked.stage not in (Stage.INQUIRY, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY):
        raise ApplicationError(f"This lead is {locked.get_stage_display()}; there is nothing to follow up.")
    Lead.objects.filter(pk=locked.pk).update(next_follow_up_at=at, reminder_due_at=at, updated_at=timezone.now())
    return _refresh(lead)


BANT_ITEMS = {
    "budget": "Budget confirmed",
    "authority": "Talking to the decision maker (or they are involved)",
    "need": "A need our product meets",
    "timeframe": "A timeframe to buy",
}


@transaction.atomic
def lead_qualify(
    *,
    lead: Lead,
    by,
    checklist: dict[str, bool],
    expected_stage: str | None = None,
    budget: Decimal | None = None,
    authority: str = "",
    need: str = "",
    timeframe: str = "",
) -> Lead:
    """Qualify an accepted lead to SQL once every BANT item is checked, saving the facts learned."""
    missing = [label for key, label in BANT_ITEMS.items() if not checklist.get(key)]
    if missing:
        raise ApplicationError("To qualify, confirm every BANT item. Missing: " + "; ".join(missing) + ".")
    if budget is not None and budget < 0:
        raise ApplicationError("The budget cannot be negative.")
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    if locked.stage != Stage.SAL:
        raise ApplicationError(f"Accept the lead before qualifying it; it is {locked.get_stage_display()}.")
    changes = {
        name: value
        for name, value in (("budget", budget), ("authority", authority), ("need", need), ("timeframe", timeframe))
        if value not in (None, "")
    }
    lead_stage_change(
        lead=locked,
        to_stage=Stage.SQL,
        by=by,
        reason="Qualified: " + ", ".join(BANT_ITEMS),
        expected_stage=locked.stage,
        changes=changes,
    )
    return _refresh(lead)


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ApplicationError("Enter the amount as a number, e.g. 25000.")
    if not amount.is_finite() or amount < 0:
        raise ApplicationError("The amount must be zero or more.")
    if amount >= Decimal("1e12"):
        raise ApplicationError("The amount is too large.")
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def lead_convert(*, lead: Lead, by, amount, expected_close_on: dt.date, expected_stage: str | None = None) -> Lead:
    """Turn a sales-qualified lead into an opportunity with an amount and an expected close date."""
    amount = _amount(amount)
    if expected_close_on is None:
        raise ApplicationError("Give the expected close date.")
    if expected_close_on < timezone.localdate():
        raise ApplicationError("The expected close date cannot be in the past.")
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    if locked.stage != Stage.SQL:
        raise ApplicationError(f"Qualify the lead before converting it; it is {locked.get_stage_display()}.")
    lead_stage_change(
        lead=locked,
        to_stage=Stage.OPPORTUNITY,
        by=by,
        reason=f"Opportunity of {amount}, closing {expected_close_on:%Y-%m-%d}",
        expected_stage=locked.stage,
        changes={"deal_amount": amount, "expected_close_on": expected_close_on},
    )
    return _refresh(lead)


@transaction.atomic
def lead_close(*, lead: Lead, by, won: bool, amount=None, reason: str = "", expected_stage: str | None = None) -> Lead:
    """Close an opportunity as won (with the final amount) or lost (with a reason)."""
    reason = (reason or "").strip()
    changes: dict = {"next_follow_up_at": None, "reminder_due_at": None}
    if won:
        changes["deal_amount"] = _amount(amount)
        text = f"Won: {changes['deal_amount']}" + (f". {reason}" if reason else "")
    else:
        if not reason:
            raise ApplicationError("Say why the deal was lost.")
        text = f"Lost: {reason}"
        if amount not in (None, ""):
            changes["deal_amount"] = _amount(amount)
    locked = _lock_for(lead=lead, by=by)
    _check_expected(locked, expected_stage)
    allowed = (Stage.OPPORTUNITY,) if won else (Stage.SQL, Stage.OPPORTUNITY)
    if locked.stage not in allowed:
        raise ApplicationError(
            f"Only an opportunity can be {'won' if won else 'lost'}; this lead is {locked.get_stage_display()}."
        )
    lead_stage_change(
        lead=locked,
        to_stage=Stage.WON if won else Stage.LOST,
        by=by,
        reason=text,
        expected_stage=locked.stage,
        changes=changes,
    )
    return _refresh(lead)
