"""Pages of the Universal Lead Definition: read by every role, changed by Marketing and Sales Managers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadops.errors import ApplicationError
from leads.forms_uld import RejectionReasonForm, ULDSettingsForm
from leads.models import RejectionReason, ULDStatus, ULDVersion
from leads.models.uld import REQUIRED_FACTS
from leads.roles import Role, has_role, is_admin, user_roles
from leads.selectors_uld import mql_counts_by_version, uld_active, uld_diff, uld_versions
from leads.services import uld as uld_services


def _require_role(request: HttpRequest) -> None:
    if not (is_admin(request.user) or user_roles(request.user)):
        raise PermissionDenied("You need a role to read the lead definition.")


def _signable_roles(user, version: ULDVersion) -> list[tuple[str, str]]:
    """Sides the user could sign for on this version (none if they already signed)."""
    if version.status != ULDStatus.PROPOSED or any(s.user_id == user.pk for s in version.sign_offs.all()):
        return []
    signed = {s.role for s in version.sign_offs.all()}
    sides = []
    if has_role(user, Role.MARKETING) and "marketing" not in signed:
        sides.append(("marketing", "Sign for Marketing"))
    if has_role(user, Role.SALES_MANAGER) and "sales_manager" not in signed:
        sides.append(("sales_manager", "Sign for Sales"))
    return sides


def uld_index(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    versions = list(uld_versions())
    mqls = mql_counts_by_version()
    for version in versions:
        version.mql_count = mqls.get(version.number, 0)
    context = {
        "active": uld_active(),
        "versions": versions,
        "can_edit": uld_services.can_edit_uld(request.user),
        "open_draft": next((v for v in versions if v.status in (ULDStatus.DRAFT, ULDStatus.PROPOSED)), None),
    }
    return render(request, "leads/uld/index.html", context)


def uld_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(uld_versions(), pk=pk)
    can_edit = uld_services.can_edit_uld(request.user) and version.status == ULDStatus.DRAFT
    context = {
        "version": version,
        "can_edit": can_edit,
        "can_manage": uld_services.can_edit_uld(request.user),
        "form": ULDSettingsForm.for_version(version) if can_edit else None,
        "reason_form": RejectionReasonForm() if can_edit else None,
        "sign_sides": _signable_roles(request.user, version),
        "problems": uld_services.uld_publish_problems(version) if version.status == ULDStatus.DRAFT else [],
        "facts": [REQUIRED_FACTS.get(f, f) for f in version.required_facts],
    }
    return render(request, "leads/uld/detail.html", context)


def _run(request: HttpRequest, action, success: str, **kwargs) -> bool:
    try:
        action(by=request.user, **kwargs)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


@require_POST
def uld_draft_new(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    based_on = None
    if request.POST.get("based_on", "").isdigit():
        based_on = get_object_or_404(ULDVersion, pk=int(request.POST["based_on"]))
    try:
        draft = uld_services.uld_draft_create(by=request.user, based_on=based_on)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("uld:index")
    messages.success(request, f"Draft v{draft.number} started from v{based_on.number if based_on else '—'}.")
    return redirect(draft)


@require_POST
def uld_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    form = ULDSettingsForm.for_version(version, data=request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label if field in form.fields else field}: {errors[0]}")
        return redirect(version)
    _run(request, uld_services.uld_update, "Draft saved.", version=version, **form.changes())
    return redirect(version)


@require_POST
def uld_propose(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    success = "Proposed: it now needs Marketing's and a Sales Manager's sign-off."
    _run(request, uld_services.uld_propose, success, version=version)
    return redirect(version)


@require_POST
def uld_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    _run(request, uld_services.uld_withdraw, "Back to draft; sign-offs cleared.", version=version)
    return redirect(version)


@require_POST
def uld_sign(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    role = request.POST.get("role") or None
    if _run(request, uld_services.uld_sign, "Signed.", version=version, role=role):
        version.refresh_from_db()
        if version.status == ULDStatus.AGREED:
            messages.success(request, f"v{version.number} is now the active definition; every lead is being re-scored.")
    return redirect(version)


@require_POST
def uld_reason_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    form = RejectionReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A rejection reason needs a code (letters, digits, - or _), a label and a route.")
        return redirect(version)
    _run(request, uld_services.rejection_reason_add, "Reason added.", version=version, **form.cleaned_data)
    return redirect(version)


@require_POST
def uld_reason_delete(request: HttpRequest, pk: int, reason_pk: int) -> HttpResponse:
    _require_role(request)
    reason = get_object_or_404(RejectionReason, pk=reason_pk, version_id=pk)
    _run(request, uld_services.rejection_reason_delete, "Reason removed.", reason=reason)
    return redirect("uld:detail", pk=pk)


def uld_diff_view(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    versions = list(ULDVersion.objects.order_by("-number"))
    by_pk = {str(v.pk): v for v in versions}
    old, new = by_pk.get(request.GET.get("old", "")), by_pk.get(request.GET.get("new", ""))
    if new is None and versions:
        new = versions[0]
    if old is None and new is not None:
        old = new.based_on or next((v for v in versions if v.number < new.number), None)
    rows = uld_diff(old=old, new=new) if old and new else []
    return render(request, "leads/uld/diff.html", {"versions": versions, "old": old, "new": new, "rows": rows})


def _and_list(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def uld_guide(request: HttpRequest) -> HttpResponse:
    """What is a lead, and how to follow up on one: the active definition in plain language."""
    _require_role(request)
    version = uld_active()
    context = {"version": version}
    if version is not None:
        context |= {
            "facts_text": _and_list([REQUIRED_FACTS.get(f, f) for f in version.required_facts]),
            "reasons": list(version.rejection_reasons.all()),
            "penalties": list(version.fit_rules.filter(points__lt=0).order_by("points")),
            "nurture_routes": [(g, r.removeprefix("nurture:")) for g, r in version.routes.items() if r != "sales_rep"],
            "rep_grades": [g for g, r in version.routes.items() if r == "sales_rep"],
            "fit_rules": list(version.fit_rules.filter(points__gt=0).order_by("-points")),
            "engagement_rules": list(version.engagement_rules.order_by("-points")),
        }
    return render(request, "leads/uld/guide.html", context)
