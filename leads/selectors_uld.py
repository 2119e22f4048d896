"""Reads of the Universal Lead Definition: the active version, the history, the diff of two versions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from leads.lifecycle import Stage
from leads.models import StageChange, ULDStatus, ULDVersion

# The ULD's own settings as shown in a diff, in reading order.
ULD_FIELDS = (
    ("grade_a_min", "Grade A from score"),
    ("grade_b_min", "Grade B from score"),
    ("grade_c_min", "Grade C from score"),
    ("sales_ready_min_grade", "Sales-ready from grade"),
    ("required_facts", "Facts a sales-ready lead must have"),
    ("icp_must_haves", "Ideal-customer must-haves"),
    ("routes", "Routing by grade"),
    ("first_touch_business_hours", "First touch within (business hours)"),
    ("follow_up_cadence_days", "Follow-up cadence (days)"),
    ("min_touches_before_no_response", "Touches before “no response”"),
)


def uld_active() -> ULDVersion | None:
    """Return the agreed version in force, or None before any is agreed."""
    return ULDVersion.objects.filter(status=ULDStatus.AGREED).first()


def uld_versions() -> QuerySet[ULDVersion]:
    return ULDVersion.objects.select_related("based_on").prefetch_related("sign_offs__user").order_by("-number")


def mql_counts_by_version() -> dict[int, int]:
    """Return how many leads each ULD version qualified as MQLs (version number -> count), for reports."""
    rows = (
        StageChange.objects.filter(to_stage=Stage.MQL, uld_version__isnull=False)
        .values("uld_version__number")
        .annotate(n=Count("id"))
    )
    return {row["uld_version__number"]: row["n"] for row in rows}


@dataclass(frozen=True)
class DiffRow:
    section: str
    item: str
    old: str
    new: str

    @property
    def change(self) -> str:
        if not self.old:
            return "added"
        if not self.new:
            return "removed"
        return "changed"


def _show(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _fit_key(rule) -> tuple:
    return (rule.field, rule.operator, _show(rule.value))


def _engagement_key(rule) -> tuple:
    return (rule.kind, rule.payload_key, rule.payload_operator, rule.payload_value.lower())


def _fit_show(rule) -> str:
    return f"{rule.points:+d} points"


def _engagement_show(rule) -> str:
    parts = [f"{rule.points:+d} per occurrence"]
    if rule.cap is not None:
        parts.append(f"cap {rule.cap}")
    if rule.half_life_days is not None:
        parts.append(f"half-life {rule.half_life_days} d")
    if rule.expires_after_days is not None:
        parts.append(f"expires after {rule.expires_after_days} d")
    return ", ".join(parts)


def _diff_keyed(section: str, old_items, new_items, key, name, show) -> list[DiffRow]:
    old = {key(x): x for x in old_items}
    new = {key(x): x for x in new_items}
    rows = []
    for k in list(old) + [k for k in new if k not in old]:
        before, after = old.get(k), new.get(k)
        old_text, new_text = (show(before) if before else ""), (show(after) if after else "")
        if old_text != new_text:
            rows.append(DiffRow(section, name(after or before), old_text, new_text))
    return rows


def uld_diff(*, old: ULDVersion, new: ULDVersion) -> list[DiffRow]:
    """Return what changed from `old` to `new`: settings, rejection reasons, fit and engagement rules.

    Rules are matched by what they test (field, operator and value; activity kind and condition), so a
    rule whose points changed shows as changed rather than removed and added.
    """
    rows = [
        DiffRow("Definition", label, _show(getattr(old, field)), _show(getattr(new, field)))
        for field, label in ULD_FIELDS
        if getattr(old, field) != getattr(new, field)
    ]
    rows += _diff_keyed(
        "Rejection reasons",
        old.rejection_reasons.all(),
        new.rejection_reasons.all(),
        key=lambda r: r.code,
        name=lambda r: r.code,
        show=lambda r: f"{r.label} → {r.get_route_display()}",
    )
    rows += _diff_keyed(
        "Fit rules",
        old.fit_rules.all(),
        new.fit_rules.all(),
        key=_fit_key,
        name=lambda r: r.label,
        show=_fit_show,
    )
    rows += _diff_keyed(
        "Engagement rules",
        old.engagement_rules.all(),
        new.engagement_rules.all(),
        key=_engagement_key,
        name=lambda r: r.label,
        show=_engagement_show,
    )
    return rows
