"""The report filters (period and dimensions) parsed from the URL, and who may see which numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from leads.models import Campaign, Profile, SourceChannel, Team, ULDVersion
from leads.roles import Role, has_role, is_admin
from reporting.days import day_bounds

PERIODS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("last_90", "Last 90 days"),
    ("this_year", "This year"),
    ("custom", "Custom"),
]
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date
    end: dt.date  # inclusive
    period: str = "this_month"
    source_channel: str = ""
    campaign_id: int | None = None
    team_id: int | None = None
    owner_id: int | None = None
    # 0: leads never qualified under a ULD version.
    uld_version_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class ReportScope:
    """Whose numbers a reader may see: None means everyone's, otherwise these owner ids (0: unassigned)."""

    owner_ids: frozenset[int] | None
    sees_costs: bool


def period_bounds(period: str, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the first and last day of a named period containing (or just before) `today`."""
    month_start = today.replace(day=1)
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    if period == "last_month":
        end = month_start - dt.timedelta(days=1)
        return end.replace(day=1), end
    if period == "this_quarter":
        return quarter_start, today
    if period == "last_quarter":
        end = quarter_start - dt.timedelta(days=1)
        return end.replace(month=3 * ((end.month - 1) // 3) + 1, day=1), end
    if period == "last_90":
        return today - dt.timedelta(days=89), today
    if period == "this_year":
        return today.replace(month=1, day=1), today
    return month_start, today


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(choices=[("", "All sources"), *SourceChannel.choices], required=False)
    campaign = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    rep = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    uld = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="ULD version")

    def __init__(self, *args, scope: ReportScope, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = Campaign.objects.order_by("name").values_list("id", "name")
        self.fields["campaign"].choices = [("", "All campaigns"), (0, "No campaign"), *campaigns]
        self.fields["team"].choices = [("", "All teams"), *Team.objects.order_by("name").values_list("id", "name")]
        reps = get_user_model().objects.filter(groups__name__in=[Role.SALES_REP, Role.SALES_MANAGER]).distinct()
        if scope.owner_ids is not None:
            reps = reps.filter(pk__in=scope.owner_ids)
        versions = ULDVersion.objects.order_by("-number")
        self.fields["uld"].choices = [
            ("", "All versions"),
            (0, "Not qualified under a version"),
            *((v.pk, f"Version {v.number}") for v in versions),
        ]
        self.fields["rep"].choices = [
            ("", "All reps"),
            (0, "Unassigned"),
            *((u.pk, u.get_full_name() or u.username) for u in reps.order_by("username")),
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if data.get("period") == "custom":
            if not start or not end:
                raise forms.ValidationError("A custom period needs a start and an end date.")
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError("A custom period can be at most three years long.")
        return data

    def filters(self, *, today: dt.date | None = None) -> ReportFilters:
        """Return the filters the form holds, or this month's unfiltered view when it is not valid."""
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        period = data.get("period") or "this_month"
        if period == "custom" and data.get("start") and data.get("end"):
            start, end = data["start"], data["end"]
        else:
            start, end = period_bounds(period, today=today)
        return ReportFilters(
            start=start,
            end=end,
            period=period,
            source_channel=data.get("source") or "",
            campaign_id=data.get("campaign"),
            team_id=data.get("team"),
            owner_id=data.get("rep"),
            uld_version_id=data.get("uld"),
        )


def report_scope(user) -> ReportScope | None:
    """Return whose numbers `user` may read, or None if their role reads no reports.

    Executives, marketing and admins read everything; a manager reads their team's numbers (the leads its
    members hold); a rep reads only their own.
    """
    if is_admin(user) or has_role(user, Role.EXECUTIVE, Role.MARKETING):
        return ReportScope(owner_ids=None, sees_costs=True)
    if has_role(user, Role.SALES_MANAGER):
        profile = Profile.objects.filter(user=user).first()
        members = set()
        if profile and profile.team_id:
            members = set(Profile.objects.filter(team_id=profile.team_id).values_list("user_id", flat=True))
        return ReportScope(owner_ids=frozenset(members | {user.pk}), sees_costs=True)
    if has_role(user, Role.SALES_REP):
        return ReportScope(owner_ids=frozenset({user.pk}), sees_costs=False)
    return None


def owner_ids_for(filters: ReportFilters, scope: ReportScope) -> frozenset[int] | None:
    """Return the owner ids the numbers are restricted to (scope, team and rep filters), or None for all."""
    allowed = scope.owner_ids
    if filters.team_id is not None:
        team = frozenset(Profile.objects.filter(team_id=filters.team_id).values_list("user_id", flat=True))
        allowed = team if allowed is None else allowed & team
    if filters.owner_id is not None:
        rep = frozenset({filters.owner_id})
        allowed = rep if allowed is None else allowed & rep
    return allowed


def dims_q(filters: ReportFilters, owners: frozenset[int] | None, *, prefix: str = "") -> Q:
    """Return the filter on source, campaign, owner and ULD version for rows holding those dimensions as columns."""
    condition = Q()
    if filters.source_channel:
        condition &= Q(**{f"{prefix}source_channel": filters.source_channel})
    if filters.campaign_id is not None:
        condition &= Q(**{f"{prefix}campaign_id": filters.campaign_id})
    if owners is not None:
        condition &= Q(**{f"{prefix}owner_id__in": sorted(owners)})
    if filters.uld_version_id is not None:
        condition &= Q(**{f"{prefix}uld_version_id": filters.uld_version_id})
    return condition


def filter_window(filters: ReportFilters) -> tuple[dt.datetime, dt.datetime]:
    """Return [start, end) of the filters' period as aware datetimes in the reporting time zone."""
    return day_bounds(filters.start)[0], day_bounds(filters.end)[1]


def people_q(field: str, owners: frozenset[int] | None) -> Q:
    """Return the filter restricting `field` (a user relation) to `owners`; 0 in `owners` means nobody."""
    if owners is None:
        return Q()
    condition = Q(**{f"{field}_id__in": sorted(o for o in owners if o)})
    if 0 in owners:
        condition |= Q(**{f"{field}__isnull": True})
    return condition


def lead_dims_q(filters: ReportFilters, *, prefix: str = "") -> Q:
    """Return the source, campaign and ULD-version filters on a lead (or a relation to one via `prefix`)."""
    condition = Q()
    if filters.source_channel:
        condition &= Q(**{f"{prefix}source_channel": filters.source_channel})
    if filters.campaign_id is not None:
        condition &= (
            Q(**{f"{prefix}campaign__isnull": True})
            if filters.campaign_id == 0
            else Q(**{f"{prefix}campaign_id": filters.campaign_id})
        )
    if filters.uld_version_id is not None:
        condition &= (
            Q(**{f"{prefix}qualified_uld_version__isnull": True})
            if filters.uld_version_id == 0
            else Q(**{f"{prefix}qualified_uld_version_id": filters.uld_version_id})
        )
    return condition
