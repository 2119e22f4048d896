"""Writing the Universal Lead Definition: drafts, proposals, sign-offs and publication.

A draft is edited freely by Marketing and Sales Managers; a proposed version waits for two sign-offs by
two different people (one Marketing, one Sales Manager); the second makes it the one agreed version,
retires the previous one and starts a background re-score of every lead. Agreed versions never change.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.models import RejectionReason, ULDSignOff, ULDStatus, ULDVersion
from leads.models.uld import ICP_FIELDS, REQUIRED_FACTS, RejectionRoute, SignOffRole
from leads.roles import Role, has_role, is_admin
from leads.selectors_uld import uld_active

EDITABLE_FIELDS = (
    "summary",
    "grade_a_min",
    "grade_b_min",
    "grade_c_min",
    "sales_ready_min_grade",
    "required_facts",
    "icp_must_haves",
    "routes",
    "first_touch_business_hours",
    "follow_up_cadence_days",
    "min_touches_before_no_response",
)


def can_edit_uld(user) -> bool:
    return is_admin(user) or has_role(user, Role.MARKETING, Role.SALES_MANAGER)


def require_editor(user) -> None:
    if not can_edit_uld(user):
        raise ApplicationError("Only Marketing and Sales Managers change the lead definition.", code="forbidden")


def require_draft(version: ULDVersion) -> None:
    if version.status != ULDStatus.DRAFT:
        raise ApplicationError(
            f"Version {version.number} is {version.get_status_display().lower()} and cannot be edited; "
            "start a new draft from it instead."
        )


def _locked(version: ULDVersion) -> ULDVersion:
    return ULDVersion.objects.select_for_update().get(pk=version.pk)


@transaction.atomic
def uld_draft_create(*, by, based_on: ULDVersion | None = None) -> ULDVersion:
    """Start a new draft copied from `based_on` (the active version unless given), rules included."""
    from scoring.models import EngagementRule, FitRule

    require_editor(by)
    source = based_on or uld_active()
    number = (ULDVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ULDVersion(number=number, status=ULDStatus.DRAFT, based_on=source, created_by=by)
    if source is not None:
        for field in EDITABLE_FIELDS:
            setattr(draft, field, getattr(source, field))
        draft.summary = ""
    try:
        draft.save()
    except IntegrityError as exc:
        raise ApplicationError("Someone started a draft at the same moment; reload and try again.") from exc
    if source is not None:
        RejectionReason.objects.bulk_create(
            RejectionReason(version=draft, code=r.code, label=r.label, route=r.route)
            for r in source.rejection_reasons.all()
        )
        FitRule.objects.bulk_create(
            FitRule(
                uld_version=draft, label=r.label, field=r.field, operator=r.operator, value=r.value, points=r.points
            )
            for r in source.fit_rules.all()
        )
        EngagementRule.objects.bulk_create(
            EngagementRule(
                uld_version=draft,
                label=r.label,
                kind=r.kind,
                payload_key=r.payload_key,
                payload_operator=r.payload_operator,
                payload_value=r.payload_value,
                points=r.points,
                cap=r.cap,
                half_life_days=r.half_life_days,
                expires_after_days=r.expires_after_days,
            )
            for r in source.engagement_rules.all()
        )
    return draft


def _check_settings(values: dict[str, Any]) -> None:
    for field in ("grade_a_min", "grade_b_min", "grade_c_min", "first_touch_business_hours"):
        if isinstance(values.get(field), bool) or not isinstance(values.get(field), int):
            raise ApplicationError(f"{field.replace('_', ' ').capitalize()} must be a whole number.")
    if values["min_touches_before_no_response"] < 1:
        raise ApplicationError("A rep must make at least one touch before rejecting a lead as “no response”.")
    if values["sales_ready_min_grade"] not in ("A", "B", "C"):
        raise ApplicationError("Sales-ready must start at grade A, B or C.")
    unknown = [f for f in values["required_facts"] if f not in REQUIRED_FACTS]
    if unknown:
        raise ApplicationError(f"Unknown required fact(s): {', '.join(unknown)}. Use: {', '.join(REQUIRED_FACTS)}.")
    icp = values["icp_must_haves"]
    if not isinstance(icp, dict):
        raise ApplicationError("Ideal-customer must-haves must map a field to a list of values.")
    for field, allowed in icp.items():
        if field not in ICP_FIELDS:
            raise ApplicationError(
                f"Ideal-customer must-have on unknown field {field!r}. Use: {', '.join(ICP_FIELDS)}."
            )
        if not isinstance(allowed, list) or not allowed or not all(str(v).strip() for v in allowed):
            raise ApplicationError(f"Ideal-customer must-have on {field}: give at least one value.")
    routes = values["routes"]
    for grade in "ABCD":
        route = (routes or {}).get(grade, "")
        if route != "sales_rep" and not (route.startswith("nurture:") and len(route) > len("nurture:")):
            raise ApplicationError(
                f"Route for grade {grade} must be “sales_rep” or “nurture:<track>” (it is {route!r})."
            )
    cadence = values["follow_up_cadence_days"]
    if not isinstance(cadence, list) or not cadence or any(not isinstance(d, int) or d < 0 for d in cadence):
        raise ApplicationError("The follow-up cadence is a list of whole days after assignment, e.g. 1, 2, 4, 7.")


@transaction.atomic
def uld_update(*, version: ULDVersion, by, **changes: Any) -> ULDVersion:
    """Change settings of a draft. Bands may be out of order while drafting; proposing refuses that."""
    require_editor(by)
    version = _locked(version)
    require_draft(version)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"These cannot be edited: {', '.join(sorted(unknown))}.")
    values = {field: getattr(version, field) for field in EDITABLE_FIELDS} | changes
    _check_settings(values)
    for field, value in changes.items():
        setattr(version, field, value)
    version.save()
    return version


def uld_publish_problems(version: ULDVersion) -> list[str]:
    """Return why `version` could not be agreed as it stands (empty when it could)."""
    from scoring.rules import engagement_rule_check, fit_rule_check

    problems = []
    if not (version.grade_a_min > version.grade_b_min > version.grade_c_min):
        problems.append(
            f"The grade bands overlap: A from {version.grade_a_min}, B from {version.grade_b_min}, "
            f"C from {version.grade_c_min}; each must start above the next."
        )
    fit_rules = list(version.fit_rules.all())
    engagement_rules = list(version.engagement_rules.all())
    if not fit_rules and not engagement_rules:
        problems.append("The scoring model has no rules; every lead would score 0.")
    for rule in fit_rules:
        try:
            fit_rule_check(rule)
        except ApplicationError as exc:
            problems.append(exc.message)
    for rule in engagement_rules:
        try:
            engagement_rule_check(rule)
        except ApplicationError as exc:
            problems.append(exc.message)
    if not version.rejection_reasons.exists():
        problems.append("There are no rejection reasons; reps could not reject a lead.")
    return problems


@transaction.atomic
def uld_propose(*, version: ULDVersion, by) -> ULDVersion:
    """Submit a draft for sign-off; refused while it could not be agreed."""
    require_editor(by)
    version = _locked(version)
    require_draft(version)
    problems = uld_publish_problems(version)
    if problems:
        raise ApplicationError("This draft cannot be proposed yet: " + " ".join(problems))
    version.status = ULDStatus.PROPOSED
    version.proposed_at = timezone.now()
    version.save(update_fields=["status", "proposed_at"])
    return version


@transaction.atomic
def uld_withdraw(*, version: ULDVersion, by) -> ULDVersion:
    """Return a proposed version to draft; its sign-offs are void because its content may now change."""
    require_editor(by)
    version = _locked(version)
    if version.status != ULDStatus.PROPOSED:
        raise ApplicationError("Only a proposed version can be withdrawn to draft.")
    version.sign_offs.all().delete()
    version.status = ULDStatus.DRAFT
    version.proposed_at = None
    version.save(update_fields=["status", "proposed_at"])
    return version


def _sign_off_role(user) -> str:
    if has_role(user, Role.MARKETING):
        return SignOffRole.MARKETING
    if has_role(user, Role.SALES_MANAGER):
        return SignOffRole.SALES_MANAGER
    raise ApplicationError("Only someone in Marketing or a Sales Manager can sign off the lead definition.")


@transaction.atomic
def uld_sign(*, version: ULDVersion, by, role: str | None = None) -> ULDVersion:
    """Sign a proposed version for the signer's side; the second side's signature makes it active."""
    from scoring.services import rescore_run_start

    version = _locked(version)
    if version.status != ULDStatus.PROPOSED:
        raise ApplicationError(f"Version {version.number} is not proposed; only a proposed version is signed off.")
    role = role or _sign_off_role(by)
    needed = {SignOffRole.MARKETING: Role.MARKETING, SignOffRole.SALES_MANAGER: Role.SALES_MANAGER}
    if role not in needed or not has_role(by, needed[role]):
        raise ApplicationError("You can sign only for a side whose role you hold.")
    signed = list(version.sign_offs.all())
    if any(s.user_id == by.pk for s in signed):
        raise ApplicationError("You have already signed this version; the other side must be a different person.")
    if any(s.role == role for s in signed):
        raise ApplicationError(f"{SignOffRole(role).label} has already signed this version.")
    ULDSignOff.objects.create(version=version, user=by, role=role)
    if len(signed) + 1 < len(SignOffRole.values):
        return version
    now = timezone.now()
    previous = ULDVersion.objects.select_for_update().filter(status=ULDStatus.AGREED).first()
    if previous is not None:
        previous.status = ULDStatus.RETIRED
        previous.retired_at = now
        previous.save(update_fields=["status", "retired_at"])
    version.status = ULDStatus.AGREED
    version.agreed_at = now
    version.save(update_fields=["status", "agreed_at"])
    rescore_run_start(reason="publish")
    return version


@transaction.atomic
def rejection_reason_add(*, version: ULDVersion, by, code: str, label: str, route: str) -> RejectionReason:
    require_editor(by)
    require_draft(_locked(version))
    code, label = (code or "").strip(), (label or "").strip()
    if not code or not label:
        raise ApplicationError("A rejection reason needs a code and a label.")
    if route not in RejectionRoute.values:
        raise ApplicationError(f"Unknown route {route!r} for rejection reason “{label}”.")
    if version.rejection_reasons.filter(code=code).exists():
        raise ApplicationError(f"There is already a rejection reason with the code {code!r}.")
    return RejectionReason.objects.create(version=version, code=code, label=label, route=route)


@transaction.atomic
def rejection_reason_delete(*, reason: RejectionReason, by) -> None:
    require_editor(by)
    require_draft(_locked(reason.version))
    reason.delete()
