"""Who owns a lead: rules pick a team, round robin picks a rep; claims, reassignment and reclaims.

Every change of owner writes an `AssignmentLog` row and starts the SLA clock (first touch due within the
policy's business hours of the new owner's team). Lock order everywhere: lead rows (in primary-key
order), then the team's round-robin row. Leads are locked FOR NO KEY UPDATE (`Lead.objects.locked()`),
as everywhere (scoring.services says why).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.business_hours import WorkingWeek, add_business_hours
from leads.lifecycle import SALES_OPEN, Stage
from leads.models import AssignmentKind, AssignmentLog, AssignmentRule, Lead, RuleField, Team, TeamRoundRobin
from leads.queue_policy import active_policy
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_scope

# Stages in which a lead can be given to a rep: a fresh inquiry (a demo request) or any open sales stage.
ASSIGNABLE = frozenset({Stage.INQUIRY, *SALES_OPEN})
# What an assignment writes besides the owner, copied back onto the caller's instance.
SLA_FIELDS = ("owner_id", "assigned_at", "first_touch_due_at", "first_touch_at", "next_follow_up_at", "reminder_due_at")


def team_for_lead(*, lead: Lead, rules: Iterable[AssignmentRule] | None = None) -> Team | None:
    """Return the team of the first active rule (by position) that the lead matches, or None."""
    if rules is None:
        rules = AssignmentRule.objects.filter(is_active=True).select_related("team").order_by("position", "id")
    for rule in rules:
        if rule.field == RuleField.ANY:
            return rule.team
        value = (getattr(lead, rule.field, "") or "").strip().lower()
        if value and value in rule.value_set():
            return rule.team
    return None


def _covers(territory: str, lead: Lead) -> bool:
    """A rep with no territory covers every lead; otherwise the lead's country or region must be listed."""
    places = {p.strip().lower() for p in territory.split(",") if p.strip()}
    if not places:
        return True
    return bool({(lead.country or "").strip().lower(), (lead.region or "").strip().lower()} & places)


def _eligible_reps(*, team: Team, lead: Lead, exclude: Iterable[int] = ()) -> list:
    """Return the team's available reps under capacity who cover the lead, in primary-key order."""
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__name=Role.SALES_REP,
            profile__team=team,
            profile__is_available=True,
        )
        .exclude(pk__in=list(exclude))
        .select_related("profile__team")
        .order_by("pk")
    )
    reps = [u for u in users if _covers(u.profile.territory, lead)]
    if not reps:
        return []
    open_counts = dict(
        Lead.objects.filter(owner__in=reps, stage__in=SALES_OPEN)
        .values_list("owner")
        .annotate(n=Count("id"))
        .values_list("owner", "n")
    )
    return [u for u in reps if open_counts.get(u.pk, 0) < u.profile.capacity]


def _lock_round_robin(team: Team) -> TeamRoundRobin:
    # Insert-if-missing then lock: two workers creating the row at once both end up locking the same one.
    turn = TeamRoundRobin.objects.select_for_update().filter(pk=team.pk).first()
    if turn is None:
        TeamRoundRobin.objects.bulk_create([TeamRoundRobin(team=team)], ignore_conflicts=True)
        turn = TeamRoundRobin.objects.select_for_update().get(pk=team.pk)
    return turn


def _next_in_turn(reps: list, last_user_id: int | None):
    for rep in reps:
        if last_user_id is None or rep.pk > last_user_id:
            return rep
    return reps[0]


def first_touch_due(*, owner, at: dt.datetime) -> dt.datetime:
    """Return when the first touch is due for a lead given to `owner` at `at` (their team's hours)."""
    profile = getattr(owner, "profile", None)
    week = WorkingWeek.of_team(profile.team if profile else None)
    return add_business_hours(at, active_policy().first_touch_business_hours, week)


def _set_owner(*, lead: Lead, to, by, kind: str, reason: str, at: dt.datetime) -> None:
    """Write the new owner and restart the SLA clock on a locked lead, and log the change."""
    previous = lead.owner_id
    fields: dict = {"owner": to, "updated_at": timezone.now()}
    if to is None:
        fields.update(
            assigned_at=None, first_touch_due_at=None, first_touch_at=None, next_follow_up_at=None, reminder_due_at=None
        )
    else:
        due = first_touch_due(owner=to, at=at)
        fields.update(assigned_at=at, first_touch_due_at=due, first_touch_at=None)
        # The first touch is the first thing to do: it shows as a due follow-up and gets a reminder.
        if lead.next_follow_up_at is None or lead.next_follow_up_at > due or previous is not None:
            fields.update(next_follow_up_at=due, reminder_due_at=due)
    Lead.objects.filter(pk=lead.pk).update(**fields)
    for name, value in fields.items():
        setattr(lead, name, value)
    AssignmentLog.objects.create(lead=lead, from_owner_id=previous, to_owner=to, by=by, kind=kind, reason=reason, at=at)


@transaction.atomic
def lead_assign_auto(
    *,
    lead: Lead,
    by=None,
    at: dt.datetime | None = None,
    exclude_user_ids: Iterable[int] = (),
    kind: str = AssignmentKind.AUTO,
    reason: str = "",
    replace_owner: bool = False,
):
    """Give the lead to the next rep in turn on the team its rules select; return them, or None.

    Idempotent: a lead that already has an owner keeps it (unless `replace_owner`, used by reclaim).
    None means no rule matched or nobody on the team is available and under capacity: the lead stays in
    the unassigned pool for a manager.
    """
    at = at or timezone.now()
    locked = Lead.objects.locked().get(pk=lead.pk)
    if locked.owner_id is not None and not replace_owner:
        lead.owner_id = locked.owner_id
        return locked.owner
    if locked.stage not in ASSIGNABLE:
        raise ApplicationError(f"A lead in stage {locked.get_stage_display()} is not assigned to sales.")
    team = team_for_lead(lead=locked)
    if team is None:
        return None
    turn = _lock_round_robin(team)
    reps = _eligible_reps(team=team, lead=locked, exclude=exclude_user_ids)
    if not reps:
        return None
    rep = _next_in_turn(reps, turn.last_user_id)
    _set_owner(lead=locked, to=rep, by=by, kind=kind, reason=reason or f"Rules: team {team.name}", at=at)
    turn.last_user = rep
    turn.save(update_fields=["last_user"])
    for name in SLA_FIELDS:
        setattr(lead, name, getattr(locked, name))
    return rep


@transaction.atomic
def lead_claim(*, lead: Lead, by, at: dt.datetime | None = None) -> Lead:
    """Let a rep take an unassigned lead. Exactly one of two reps claiming at once wins."""
    if not has_role(by, Role.SALES_REP):
        raise ApplicationError("Only sales reps claim leads.")
    at = at or timezone.now()
    # The conditional update is the claim: of two concurrent claims, PostgreSQL lets the second see the
    # first's committed owner and update nothing.
    won = Lead.objects.filter(pk=lead.pk, owner__isnull=True, stage__in=ASSIGNABLE).update(
        owner=by, updated_at=timezone.now()
    )
    if won != 1:
        current = Lead.objects.select_related("owner").filter(pk=lead.pk).first()
        if current is None:
            raise ApplicationError("This lead no longer exists.", code="not_found")
        if current.owner_id == by.pk:
            raise ApplicationError("You already own this lead.", code="conflict")
        if current.owner_id is not None:
            raise ApplicationError(
                f"{current.owner.get_full_name() or current.owner} claimed this lead first; it is theirs now.",
                code="conflict",
            )
        raise ApplicationError(f"A lead in stage {current.get_stage_display()} cannot be claimed.")
    locked = Lead.objects.locked().get(pk=lead.pk)
    locked.owner_id = None  # so the log records it came from the pool
    _set_owner(lead=locked, to=by, by=by, kind=AssignmentKind.CLAIM, reason="Claimed from the pool", at=at)
    lead.refresh_from_db()
    return lead


def _may_manage(by, rep) -> bool:
    if is_admin(by):
        return True
    if not has_role(by, Role.SALES_MANAGER):
        return False
    my_team = getattr(getattr(by, "profile", None), "team_id", None)
    return my_team is not None and getattr(getattr(rep, "profile", None), "team_id", None) == my_team


@transaction.atomic
def leads_reassign(*, lead_ids: Iterable[int], to_user, by, reason: str = "", at: dt.datetime | None = None) -> int:
    """Give leads to `to_user` (a rep on the manager's team), logging each; return how many moved.

    Refuses the whole batch when any lead is not the manager's to move, so nothing half-happens.
    """
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        raise ApplicationError("Choose at least one lead to reassign.")
    if not (is_admin(by) or has_role(by, Role.SALES_MANAGER)):
        raise ApplicationError("Only sales managers reassign leads.")
    if to_user is None or not has_role(to_user, Role.SALES_REP):
        raise ApplicationError("Choose a sales rep to give the leads to.")
    if not _may_manage(by, to_user):
        raise ApplicationError(f"{to_user} is not on your team.")
    at = at or timezone.now()
    visible = set(lead_scope(user=by).filter(pk__in=ids).values_list("pk", flat=True))
    if len(visible) != len(ids):
        raise ApplicationError(f"{len(ids) - len(visible)} of these leads are not yours to reassign; nothing moved.")
    moved = 0
    for lead in Lead.objects.filter(pk__in=ids).order_by("pk").locked():
        if lead.owner_id == to_user.pk:
            continue
        if lead.stage not in ASSIGNABLE:
            raise ApplicationError(f"{lead} is {lead.get_stage_display()}: it is not sales work; nothing moved.")
        _set_owner(lead=lead, to=to_user, by=by, kind=AssignmentKind.REASSIGN, reason=reason, at=at)
        moved += 1
    return moved


def lead_release(*, lead: Lead, by, reason: str, at: dt.datetime | None = None) -> None:
    """Take a lead out of its owner's queue (it went back to marketing); the caller holds the lead's lock."""
    _set_owner(lead=lead, to=None, by=by, kind=AssignmentKind.RELEASE, reason=reason, at=at or timezone.now())


def unassigned_leads_q() -> Q:
    return Q(owner__isnull=True, stage__in=ASSIGNABLE)
