"""Reads for the rep's queue, the lead preparation panel, the manager's board and notifications."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadops.cache import cache_try
from leads.business_hours import local_day_bounds
from leads.lifecycle import Stage
from leads.models import Activity, AssignmentLog, Lead, Notification, Reminder, ReminderKind, Team
from leads.models.activity import SALES_TOUCH_KINDS
from leads.queue_page_sql import queue_page_rows
from leads.queue_policy import QueuePolicy, active_policy, policy_of_version
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_scope, lead_scope_covers_own, lead_timeline

WORKED = (Stage.INQUIRY, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
NEW = (Stage.INQUIRY, Stage.MQL)
# Stands in for "no follow-up" in the sort key so those leads sort after any scheduled one.
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
BUCKETS = {"overdue": 0, "today": 1, "new": 2, "rest": 3}
BUCKET_LABELS = {0: "Overdue", 1: "Due today", 2: "New A lead", 3: "Later"}


TIME_ZONE_CACHE_SECONDS = 60


def user_time_zone(user) -> str:
    """Return the time zone of the user's team (UTC without one).

    Cached for a minute per user: every queue page needs it for "due today", and a team changing time
    zone may take that long to move the boundary. Without the cache it is read from the database.
    """
    key = f"leadops:queue:tz:{user.pk}"
    zone = cache_try(lambda: cache.get(key), default=None, what="the queue's time zone")
    if zone is None:
        zone = Team.objects.filter(members__user=user).values_list("time_zone", flat=True).first() or "UTC"
        cache_try(lambda: cache.set(key, zone, TIME_ZONE_CACHE_SECONDS), default=None, what="the queue's time zone")
    return zone


@dataclass(frozen=True)
class QueueCursor:
    bucket: int
    due: dt.datetime
    neg_score: int
    pk: int

    def encode(self) -> str:
        # Integer microseconds, not float seconds: the cursor must round-trip the due time exactly.
        return f"{self.bucket}.{(self.due - EPOCH) // MICROSECOND}.{self.neg_score}.{self.pk}"

    @classmethod
    def decode(cls, raw: str | None) -> QueueCursor | None:
        """Return the cursor, or None for a missing or malformed one (which means the first page)."""
        try:
            bucket, micros, neg_score, pk = (int(part) for part in (raw or "").split("."))
            due = EPOCH + micros * MICROSECOND
        except (ValueError, OverflowError, OSError):
            return None
        return cls(bucket, due, neg_score, pk)


@dataclass(frozen=True)
class QueuePage:
    leads: list[Lead]
    next_cursor: str | None
    counts: dict[str, int]
    now: dt.datetime
    policy: QueuePolicy


def _queue_base(*, user, now: dt.datetime, day_ends: dt.datetime | None = None) -> QuerySet[Lead]:
    """Annotate the user's worked leads with the queue's sort key: bucket, due time, score, id."""
    if day_ends is None:
        _, day_ends = local_day_bounds(now, user_time_zone(user))
    return (
        lead_scope(user=user)
        .filter(owner=user, stage__in=WORKED)
        .annotate(
            q_bucket=Case(
                When(next_follow_up_at__lt=now, then=Value(0)),
                When(next_follow_up_at__lt=day_ends, then=Value(1)),
                When(grade="A", stage__in=NEW, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            ),
            q_due=Case(
                When(
                    Q(grade="A", stage__in=NEW)
                    & (Q(next_follow_up_at__isnull=True) | Q(next_follow_up_at__gte=day_ends)),
                    then=Value(FAR_FUTURE),
                ),
                default=Coalesce(F("next_follow_up_at"), Value(FAR_FUTURE)),
            ),
            q_neg_score=-F("score"),
        )
    )


def queue_page(
    *,
    user,
    now: dt.datetime | None = None,
    q: str = "",
    bucket: str = "",
    grade: str = "",
    stage: str = "",
    cursor: str | None = None,
    limit: int = 25,
    policy: QueuePolicy | None = None,
) -> QueuePage:
    """Return a page of the user's queue in the order of what to do next, keyset-paginated.

    Overdue follow-ups (oldest first), then those due later today, then new A leads by score, then the
    rest by next follow-up. The cursor is the last row's sort key, so page 100 costs what page 1 does.
    """
    now = now or timezone.now()
    if not lead_scope_covers_own(user):
        empty = dict.fromkeys(("overdue", "today", "new", "total"), 0)
        return QueuePage(leads=[], next_cursor=None, counts=empty, now=now, policy=policy or active_policy())
    _, day_ends = local_day_bounds(now, user_time_zone(user))
    after = QueueCursor.decode(cursor)
    # One statement for the counts, the keyset and the page's rows (see leads.queue_page_sql for why SQL):
    # it orders on the sort key alone (the `lead_queue` index) and reads only the page's rows in full.
    result = queue_page_rows(
        owner_id=user.pk,
        now=now,
        day_ends=day_ends,
        worked=tuple(WORKED),
        new=tuple(NEW),
        far_future=FAR_FUTURE,
        q=q.strip(),
        bucket=BUCKETS.get(bucket),
        grade=grade,
        stage=stage if stage in WORKED else "",
        after=(after.bucket, after.due, after.neg_score, after.pk) if after is not None else None,
        limit=limit,
    )
    keys = result.keys
    next_cursor = QueueCursor(*keys[limit - 1]).encode() if len(keys) > limit else None
    rows = result.leads[:limit]
    for lead, (bucket_no, due, neg_score, _pk) in zip(rows, keys, strict=False):
        lead.q_bucket, lead.q_due, lead.q_neg_score = bucket_no, due, neg_score
    policy = policy or policy_of_version(result.agreed_version_id)
    target = policy.min_touches_before_no_response
    for lead in rows:
        lead.q_label = BUCKET_LABELS[lead.q_bucket]
        lead.touch_target = target
        lead.sla_state = sla_state(lead=lead, now=now)
    counts = result.counts
    return QueuePage(leads=rows, next_cursor=next_cursor, counts=counts, now=now, policy=policy)


@dataclass(frozen=True)
class SlaState:
    label: str
    css: str


def sla_state(*, lead: Lead, now: dt.datetime) -> SlaState | None:
    """Return the first-touch clock as the rep sees it: time left, or how late it is."""
    if lead.first_touch_due_at is None:
        return None
    if lead.first_touch_at is not None:
        on_time = lead.first_touch_at <= lead.first_touch_due_at
        return SlaState("First touch on time" if on_time else "First touch late", "ok" if on_time else "late")
    left = lead.first_touch_due_at - now
    if left.total_seconds() < 0:
        return SlaState(f"First touch overdue by {_span(-left)}", "breached")
    return SlaState(f"First touch due in {_span(left)}", "running")


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"


def queue_export_rows(*, user, now: dt.datetime | None = None, limit: int = 10_000) -> list[Lead]:
    """Return the user's queue in order for a CSV export (their own leads only)."""
    now = now or timezone.now()
    return list(_queue_base(user=user, now=now).order_by("q_bucket", "q_due", "q_neg_score", "pk")[:limit])


@dataclass(frozen=True)
class Preparation:
    lead: Lead
    timeline: list
    last_touches: list[Activity]
    same_company: int
    assignments: list[AssignmentLog]
    sla: SlaState | None
    touch_target: int


def lead_preparation(*, lead: Lead, now: dt.datetime | None = None) -> Preparation:
    """Return what a rep reads before calling: facts, campaign, timeline, last touches, history."""
    now = now or timezone.now()
    touches = list(
        Activity.objects.filter(lead=lead, kind__in=SALES_TOUCH_KINDS)
        .select_related("recorded_by")
        .order_by("-occurred_at", "-id")[:5]
    )
    same_company = 0
    if lead.company_domain:
        same_company = Lead.objects.filter(company_domain=lead.company_domain).exclude(pk=lead.pk).count()
    assignments = list(
        AssignmentLog.objects.filter(lead=lead)
        .select_related("from_owner", "to_owner", "by")
        .order_by("-at", "-id")[:10]
    )
    return Preparation(
        lead=lead,
        timeline=lead_timeline(lead=lead, limit=50),
        last_touches=touches,
        same_company=same_company,
        assignments=assignments,
        sla=sla_state(lead=lead, now=now),
        touch_target=active_policy().min_touches_before_no_response,
    )


def team_reps(*, user) -> QuerySet:
    """Return the reps a manager manages (their team's reps; all reps for an admin)."""
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES_REP)
    if is_admin(user):
        return users.select_related("profile").order_by("username")
    team_id = getattr(getattr(user, "profile", None), "team_id", None)
    if team_id is None or not has_role(user, Role.SALES_MANAGER):
        return users.none()
    return users.filter(profile__team_id=team_id).select_related("profile").order_by("username")


@dataclass(frozen=True)
class RepStats:
    rep: object
    open: int
    overdue: int
    untouched: int
    measured: int
    on_time: int
    capacity: int

    @property
    def compliance(self) -> int | None:
        return round(100 * self.on_time / self.measured) if self.measured else None


@dataclass(frozen=True)
class Board:
    reps: list[RepStats]
    overdue: list[Lead]
    untouched: list[Lead]
    pool: list[Lead]
    escalations: list[Reminder]
    team_queue: list[Lead]


def manager_board(*, user, now: dt.datetime | None = None, days: int = 30, limit: int = 50) -> Board:
    """Return the manager's board: per-rep load and SLA compliance, overdue and untouched leads, the pool."""
    now = now or timezone.now()
    reps = list(team_reps(user=user))
    since = now - dt.timedelta(days=days)
    worked = Lead.objects.filter(owner__in=reps, stage__in=WORKED)
    untouched_q = Q(first_touch_at__isnull=True, first_touch_due_at__isnull=False)
    per_rep = {
        row["owner"]: row
        for row in worked.values("owner").annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(next_follow_up_at__lt=now)),
            untouched=Count("pk", filter=untouched_q),
        )
    }
    measured = {
        row["owner"]: row
        for row in Lead.objects.filter(owner__in=reps, assigned_at__gte=since, first_touch_due_at__lte=now)
        .values("owner")
        .annotate(
            measured=Count("pk"),
            on_time=Count("pk", filter=Q(first_touch_at__lte=F("first_touch_due_at"))),
        )
    }
    stats = [
        RepStats(
            rep=rep,
            open=per_rep.get(rep.pk, {}).get("open", 0),
            overdue=per_rep.get(rep.pk, {}).get("overdue", 0),
            untouched=per_rep.get(rep.pk, {}).get("untouched", 0),
            measured=measured.get(rep.pk, {}).get("measured", 0),
            on_time=measured.get(rep.pk, {}).get("on_time", 0),
            capacity=rep.profile.capacity,
        )
        for rep in reps
    ]
    scoped = lead_scope(user=user).select_related("owner")
    return Board(
        reps=stats,
        overdue=list(
            worked.filter(next_follow_up_at__lt=now).select_related("owner").order_by("next_follow_up_at")[:limit]
        ),
        untouched=list(
            worked.filter(untouched_q, first_touch_due_at__lt=now)
            .select_related("owner")
            .order_by("first_touch_due_at")[:limit]
        ),
        pool=list(
            scoped.filter(owner__isnull=True, stage__in=(Stage.MQL, Stage.SAL, Stage.SQL)).order_by("-pk")[:limit]
        ),
        escalations=list(
            Reminder.objects.filter(recipient=user, kind=ReminderKind.ESCALATION)
            .select_related("lead__owner")
            .order_by("-created_at")[:limit]
        ),
        team_queue=list(
            worked.select_related("owner").order_by(Coalesce("next_follow_up_at", Value(FAR_FUTURE)), "pk")[:limit]
        ),
    )


def notifications_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_recent(*, user, limit: int = 50) -> list[Notification]:
    """Return the user's latest notifications about leads they may still see (newest first)."""
    visible = lead_scope(user=user).values("pk")
    return list(
        Notification.objects.filter(recipient=user)
        .filter(Q(lead__isnull=True) | Q(lead__in=visible))
        .select_related("lead")
        .order_by("-created_at", "-id")[:limit]
    )


def local_now(user) -> dt.datetime:
    return timezone.now().astimezone(ZoneInfo(user_time_zone(user)))
