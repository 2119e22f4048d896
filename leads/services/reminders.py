"""Reminders, SLA escalation, reclaim and the daily digest, driven from the database by periodic tasks.

Each side effect is claimed by inserting a `Reminder` (unique on lead, due time and kind) or a
`DigestSent` (unique on person and day) in its own short transaction; only the inserter sends anything.
So a scan that runs twice, a redelivered task or two beat processes remind once. Email goes out after the
claim commits (slow I/O outside transactions) and is itself claimed with a conditional update on
`emailed_at`, so a retry never mails twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from leads.business_hours import local_day_bounds
from leads.lifecycle import Stage
from leads.models import DigestSent, Lead, Notification, Reminder, ReminderKind
from leads.queue_policy import active_policy
from leads.roles import Role
from leads.services.assignment import lead_assign_auto, lead_release

logger = logging.getLogger(__name__)

# Stages in which a lead is a rep's work (inquiries that went straight to a rep count).
WORKED = (Stage.INQUIRY, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)


def due_follow_ups(*, now: dt.datetime, limit: int = 500):
    """Return (lead id, owner id, stage, due time) of pending follow-up reminders that have fallen due.

    An ordered scan of the partial index `lead_reminder_pending` that stops at `limit`: its cost follows
    the batch, not the size of the lead table.
    """
    return (
        Lead.objects.filter(reminder_due_at__lte=now)
        .order_by("reminder_due_at", "pk")
        .values_list("pk", "owner_id", "stage", "reminder_due_at")[:limit]
    )


def _claim(*, lead_id: int, kind: str, due_at: dt.datetime, recipient_id: int, text: str, check: Q) -> Reminder | None:
    """Insert the reminder and its in-app notification, or return None if it exists or no longer applies."""
    try:
        with transaction.atomic():
            # Re-read under the claim: a lead reassigned or rescheduled since the scan is not reminded.
            if not Lead.objects.filter(check, pk=lead_id).exists():
                return None
            if kind == ReminderKind.FOLLOW_UP:
                Lead.objects.filter(pk=lead_id, reminder_due_at=due_at).update(reminder_due_at=None)
            reminder = Reminder.objects.create(lead_id=lead_id, kind=kind, due_at=due_at, recipient_id=recipient_id)
            Notification.objects.create(
                recipient_id=recipient_id, lead_id=lead_id, reminder=reminder, kind=kind, text=text
            )
    except IntegrityError:
        if kind == ReminderKind.FOLLOW_UP:
            # Reminded already for this very time (rescheduled back to it): nothing is owed any more.
            Lead.objects.filter(pk=lead_id, reminder_due_at=due_at).update(reminder_due_at=None)
        return None
    return reminder


def _email(reminder: Reminder, subject: str, body: str) -> None:
    """Send the reminder's email at most once (claimed by a conditional update)."""
    claimed = Reminder.objects.filter(pk=reminder.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if claimed != 1 or reminder.recipient is None or not reminder.recipient.email:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [reminder.recipient.email])
    except OSError:
        # The in-app notification stands; a mail server outage must not resend the others.
        logger.exception("Could not email reminder %s", reminder.pk)


def _lead_url(lead_id: int) -> str:
    return reverse("queue:lead", args=[lead_id])


def reminders_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Remind each owner once of every follow-up that has fallen due; return how many were sent."""
    now = now or timezone.now()
    sent = 0
    for lead_id, owner_id, stage, due_at in list(due_follow_ups(now=now, limit=limit)):
        if owner_id is None or stage not in WORKED:
            # Nobody to remind (released, closed elsewhere): drop the pending mark so the scan moves on.
            Lead.objects.filter(pk=lead_id, reminder_due_at=due_at).update(reminder_due_at=None)
            continue
        lead = Lead.objects.only("first_name", "last_name", "email", "phone", "company_name").get(pk=lead_id)
        text = f"Follow up with {lead.display_name}" + (f" ({lead.company_name})" if lead.company_name else "")
        reminder = _claim(
            lead_id=lead_id,
            kind=ReminderKind.FOLLOW_UP,
            due_at=due_at,
            recipient_id=owner_id,
            text=text,
            check=Q(owner_id=owner_id, reminder_due_at=due_at, stage__in=WORKED),
        )
        if reminder is None:
            continue
        sent += 1
        _email(
            Reminder.objects.select_related("recipient").get(pk=reminder.pk),
            f"Follow-up due: {lead.display_name}",
            f"{text}, due {timezone.localtime(due_at):%Y-%m-%d %H:%M}.\n\nOpen it: {_lead_url(lead_id)}\n",
        )
    return sent


def manager_of(user):
    """Return the person escalations go to: the rep's manager, else a sales manager of their team."""
    profile = getattr(user, "profile", None)
    if profile is None:
        return None
    if profile.manager_id:
        return profile.manager
    if profile.team_id is None:
        return None
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SALES_MANAGER, profile__team_id=profile.team_id)
        .order_by("pk")
        .first()
    )


def _untouched(now_limit: dt.datetime) -> Q:
    """Owned leads whose first touch was due before `now_limit` and has not happened."""
    return Q(
        owner__isnull=False,
        first_touch_at__isnull=True,
        first_touch_due_at__lte=now_limit,
        stage__in=WORKED,
    ) & (Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("assigned_at")))


@dataclass(frozen=True)
class SlaRun:
    escalated: int
    reclaimed: int


def sla_enforce(*, now: dt.datetime | None = None, limit: int = 500) -> SlaRun:
    """Escalate breached first-touch SLAs to the rep's manager, and reclaim leads left untouched longer."""
    now = now or timezone.now()
    policy = active_policy()
    escalate_before = now - dt.timedelta(hours=policy.escalate_after_hours)
    reclaim_before = now - dt.timedelta(hours=policy.reclaim_after_hours)
    escalated = reclaimed = 0
    breached = list(
        Lead.objects.filter(_untouched(escalate_before))
        .exclude(
            Exists(
                Reminder.objects.filter(
                    lead=OuterRef("pk"), kind=ReminderKind.ESCALATION, due_at=OuterRef("first_touch_due_at")
                )
            )
        )
        .select_related("owner__profile__manager")
        .order_by("first_touch_due_at", "pk")[:limit]
    )
    for lead in breached:
        boss = manager_of(lead.owner)
        if boss is None:
            continue
        owner_name = lead.owner.get_full_name() or lead.owner.get_username()
        due = timezone.localtime(lead.first_touch_due_at)
        text = f"SLA breached: {owner_name} has not touched {lead.display_name} (due {due:%Y-%m-%d %H:%M})"
        reminder = _claim(
            lead_id=lead.pk,
            kind=ReminderKind.ESCALATION,
            due_at=lead.first_touch_due_at,
            recipient_id=boss.pk,
            text=text[:300],
            check=_untouched(escalate_before) & Q(owner_id=lead.owner_id, first_touch_due_at=lead.first_touch_due_at),
        )
        if reminder is not None:
            escalated += 1
            _email(
                Reminder.objects.select_related("recipient").get(pk=reminder.pk),
                "First-touch SLA breached",
                text + "\n",
            )
    for lead_id in list(
        Lead.objects.filter(_untouched(reclaim_before))
        .order_by("first_touch_due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    ):
        if lead_reclaim(lead_id=lead_id, before=reclaim_before, now=now):
            reclaimed += 1
    return SlaRun(escalated=escalated, reclaimed=reclaimed)


@transaction.atomic
def lead_reclaim(*, lead_id: int, before: dt.datetime, now: dt.datetime) -> bool:
    """Take an untouched lead back from its owner and reassign it (to the pool if nobody else can take it)."""
    lead = Lead.objects.locked().filter(_untouched(before), pk=lead_id).first()
    if lead is None:
        return False
    previous = lead.owner
    reminder = _claim(
        lead_id=lead.pk,
        kind=ReminderKind.RECLAIM,
        due_at=lead.first_touch_due_at,
        recipient_id=previous.pk,
        text=f"{lead.display_name} was taken back: no first touch in time"[:300],
        check=Q(owner_id=previous.pk),
    )
    if reminder is None:
        return False
    reason = f"No first touch by {timezone.localtime(lead.first_touch_due_at):%Y-%m-%d %H:%M}"
    new_owner = lead_assign_auto(
        lead=lead, at=now, exclude_user_ids=[previous.pk], kind="reclaim", reason=reason, replace_owner=True
    )
    if new_owner is None:
        lead_release(lead=lead, by=None, reason=reason + "; nobody else available, back to the unassigned pool")
    return True


def _digest_body(*, user, now: dt.datetime, time_zone: str) -> tuple[str, int]:
    starts, ends = local_day_bounds(now, time_zone)
    mine = Lead.objects.filter(owner=user, stage__in=WORKED)
    overdue = list(mine.filter(next_follow_up_at__lt=now).order_by("next_follow_up_at")[:20])
    due_today = list(
        mine.filter(next_follow_up_at__gte=now, next_follow_up_at__lt=ends).order_by("next_follow_up_at")[:20]
    )
    new = list(
        mine.filter(assigned_at__gte=starts - dt.timedelta(days=1), stage__in=(Stage.INQUIRY, Stage.MQL)).order_by(
            "-score"
        )[:20]
    )
    lines = [f"Good morning {user.get_full_name() or user.get_username()},", ""]
    for title, leads in (("Overdue", overdue), ("Due today", due_today), ("New leads", new)):
        lines.append(f"{title}: {len(leads)}")
        lines.extend(f"  - {lead.display_name} {lead.company_name}".rstrip() for lead in leads)
        lines.append("")
    lines.append(f"Your queue: {reverse('queue:home')}")
    return "\n".join(lines), len(overdue) + len(due_today) + len(new)


def digests_send(*, now: dt.datetime | None = None) -> int:
    """Send each rep their daily digest once, from the policy's local hour in their team's time zone."""
    now = now or timezone.now()
    hour = active_policy().digest_local_hour
    sent = 0
    reps = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES_REP).select_related("profile__team")
    for rep in reps:
        team = getattr(getattr(rep, "profile", None), "team", None)
        time_zone = team.time_zone if team else "UTC"
        local = timezone.localtime(now, timezone=ZoneInfo(time_zone))
        if local.hour < hour:
            continue
        try:
            with transaction.atomic():
                DigestSent.objects.create(recipient=rep, day=local.date(), sent_at=now)
        except IntegrityError:
            continue
        body, _count = _digest_body(user=rep, now=now, time_zone=time_zone)
        if rep.email:
            try:
                send_mail(f"Your leads for {local:%A %d %B}", body, settings.DEFAULT_FROM_EMAIL, [rep.email])
            except OSError:
                logger.exception("Could not email the digest to %s", rep.pk)
        sent += 1
    return sent


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when no ids are given)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
