"""Reads of leads. Who may see which lead is decided here, in one place, for pages, htmx and the API."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from leads.models import Activity, Lead, StageChange
from leads.roles import Role, is_admin, user_roles


def lead_scope(*, user) -> QuerySet[Lead]:
    """Return the leads `user` may see.

    Admins and Marketing see all leads (marketing works the whole database); a Sales Manager sees the
    leads owned by members of their team and the unassigned pool; a Sales Rep sees only their own;
    Executives read reports, not leads.
    """
    leads = Lead.objects.all()
    if not getattr(user, "is_authenticated", False):
        return leads.none()
    if is_admin(user):
        return leads
    roles = user_roles(user)
    if Role.MARKETING in roles:
        return leads
    condition = Q(pk__in=[])
    if Role.SALES_MANAGER in roles:
        team_id = _team_id(user)
        condition |= Q(owner__isnull=True) | Q(owner=user)
        if team_id is not None:
            condition |= Q(owner__profile__team_id=team_id)
    if Role.SALES_REP in roles:
        condition |= Q(owner=user)
    return leads.filter(condition)


def lead_scope_covers_own(user) -> bool:
    """Return whether `lead_scope(user)` includes every lead the user owns.

    The same rule as `lead_scope`, asked for the one case a page listing only the user's own leads needs
    (the queue), so that page can filter on the owner in SQL of its own instead of compiling the scope.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    return is_admin(user) or bool(user_roles(user) & {Role.MARKETING, Role.SALES_MANAGER, Role.SALES_REP})


def _team_id(user) -> int | None:
    profile = getattr(user, "profile", None)
    return profile.team_id if profile else None


def lead_get(*, user, pk: int) -> Lead:
    """Return one lead the user may see, or raise Http404 (never 403: no hint that it exists)."""
    lead = lead_scope(user=user).select_related("campaign", "owner").filter(pk=pk).first()
    if lead is None:
        raise Http404("No such lead.")
    return lead


def lead_owner_choices(*, user) -> list[tuple[int, str]]:
    """Return (id, name) of the people whose leads `user` may filter the list by, sorted by name.

    Reps see only their own leads, so they get none; a manager gets their team; marketing and admins get
    every rep and manager.
    """
    if not getattr(user, "is_authenticated", False):
        return []
    people = get_user_model().objects.filter(is_active=True)
    roles = user_roles(user)
    if is_admin(user) or Role.MARKETING in roles:
        people = people.filter(groups__name__in=[Role.SALES_REP, Role.SALES_MANAGER])
    elif Role.SALES_MANAGER in roles:
        team_id = _team_id(user)
        people = people.filter(Q(pk=user.pk) | Q(profile__team_id=team_id) if team_id else Q(pk=user.pk))
    else:
        return []
    people = people.distinct().order_by("first_name", "last_name", "username")
    return [(p.pk, p.get_full_name() or p.get_username()) for p in people]


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: int | None


def lead_filter(
    *,
    user,
    q: str = "",
    stage: str = "",
    owner_id: int | None = None,
    unassigned: bool = False,
    campaign_id: int | None = None,
    grade: str = "",
) -> QuerySet[Lead]:
    """Return the visible leads matching the list's filters (the page and the API share them)."""
    leads = lead_scope(user=user)
    q = q.strip()
    if q:
        if "@" in q:
            leads = leads.filter(email__startswith=q.lower())
        else:
            leads = leads.filter(
                Q(last_name__istartswith=q)
                | Q(first_name__istartswith=q)
                | Q(company_name__istartswith=q)
                | Q(email__startswith=q.lower())
            )
    if stage:
        leads = leads.filter(stage=stage)
    if unassigned:
        leads = leads.filter(owner__isnull=True)
    elif owner_id:
        leads = leads.filter(owner_id=owner_id)
    if campaign_id:
        leads = leads.filter(campaign_id=campaign_id)
    if grade:
        leads = leads.filter(grade="" if grade == "none" else grade)
    return leads


def lead_list(
    *,
    user,
    q: str = "",
    stage: str = "",
    owner_id: int | None = None,
    unassigned: bool = False,
    campaign_id: int | None = None,
    grade: str = "",
    after: int | None = None,
    limit: int = 50,
) -> LeadPage:
    """Return a page of visible leads, newest first, keyset-paginated on id (fast on any page)."""
    leads = lead_filter(
        user=user,
        q=q,
        stage=stage,
        owner_id=owner_id,
        unassigned=unassigned,
        campaign_id=campaign_id,
        grade=grade,
    )
    if after:
        leads = leads.filter(pk__lt=after)
    rows = list(leads.select_related("campaign", "owner").order_by("-pk")[: limit + 1])
    next_cursor = rows[limit - 1].pk if len(rows) > limit else None
    return LeadPage(leads=rows[:limit], next_cursor=next_cursor)


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    kind: str
    label: str
    by: object
    detail: str
    payload: dict


def lead_timeline(*, lead: Lead, limit: int = 200) -> list[TimelineEntry]:
    """Return the lead's activities and stage changes merged, newest first."""
    activities = (
        Activity.objects.filter(lead=lead).select_related("recorded_by").order_by("-occurred_at", "-id")[:limit]
    )
    changes = StageChange.objects.filter(lead=lead).select_related("changed_by").order_by("-changed_at", "-id")[:limit]
    entries = chain(
        (
            TimelineEntry(
                a.occurred_at,
                a.kind,
                a.get_kind_display(),
                a.recorded_by or a.source,
                _payload_summary(a.payload),
                a.payload,
            )
            for a in activities
        ),
        (
            TimelineEntry(
                c.changed_at,
                "stage",
                f"{c.get_from_stage_display() or 'Created'} → {c.get_to_stage_display()}",
                c.changed_by,
                c.reason,
                {},
            )
            for c in changes
        ),
    )
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]


def _payload_summary(payload: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in payload.items() if value not in ("", None))[:300]


def stage_log_mismatches() -> QuerySet[Lead]:
    """Return leads whose stage differs from the last entry of their stage-change log (should be none)."""
    last = StageChange.objects.filter(lead=OuterRef("pk")).order_by("-changed_at", "-id").values("to_stage")[:1]
    return Lead.objects.annotate(logged_stage=Subquery(last)).filter(
        Q(logged_stage__isnull=True) | ~Q(stage=F("logged_stage"))
    )
