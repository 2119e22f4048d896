"""Scoring pages: the rules editor (drafts only), simulation, re-score runs and a lead's score explanation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadops.errors import ApplicationError
from leads.models import ULDStatus, ULDVersion
from leads.roles import Role, has_role, is_admin, user_roles
from leads.selectors import lead_get
from leads.selectors_uld import uld_active
from leads.services.uld import can_edit_uld

from . import services
from .forms import EngagementRuleForm, FitRuleForm, PointsForm
from .models import EngagementRule, FitRule
from .selectors import lead_score_explain, rescore_runs, rules_for, simulation_run


def _require_role(request: HttpRequest) -> None:
    if not (is_admin(request.user) or user_roles(request.user)):
        raise PermissionDenied("You need a role to read the scoring model.")


def _require_editor(request: HttpRequest) -> None:
    if not can_edit_uld(request.user):
        raise PermissionDenied("Only Marketing and Sales Managers work on the scoring model.")


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ") if field in form.fields else field
        messages.error(request, f"{str(label).capitalize()}: {errors[0]}")


def rules_home(request: HttpRequest) -> HttpResponse:
    """Open the rules of the draft in progress, else of the active version."""
    _require_role(request)
    version = (
        ULDVersion.objects.filter(status__in=[ULDStatus.DRAFT, ULDStatus.PROPOSED]).order_by("-number").first()
        or uld_active()
    )
    if version is None:
        messages.info(request, "There is no lead definition yet; start a draft first.")
        return redirect("uld:index")
    return redirect("scoring:rules", pk=version.pk)


def rules_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_role(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    fit_rules, engagement_rules = rules_for(version=version)
    editable = version.status == ULDStatus.DRAFT and can_edit_uld(request.user)
    context = {
        "version": version,
        "fit_rules": fit_rules,
        "engagement_rules": engagement_rules,
        "editable": editable,
        "fit_form": FitRuleForm() if editable else None,
        "engagement_form": EngagementRuleForm() if editable else None,
    }
    return render(request, "scoring/rules.html", context)


@require_POST
def fit_rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    form = FitRuleForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        try:
            rule = services.fit_rule_create(version=version, by=request.user, **form.rule_fields())
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Added fit rule “{rule.label}”.")
    return redirect("scoring:rules", pk=pk)


@require_POST
def engagement_rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    form = EngagementRuleForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        try:
            rule = services.engagement_rule_create(version=version, by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Added engagement rule “{rule.label}”.")
    return redirect("scoring:rules", pk=pk)


def _rule(kind: str, pk: int, rule_pk: int):
    model = {"fit": FitRule, "engagement": EngagementRule}.get(kind)
    if model is None:
        raise PermissionDenied("Unknown rule kind.")
    return get_object_or_404(model, pk=rule_pk, uld_version_id=pk)


@require_POST
def rule_delete(request: HttpRequest, pk: int, kind: str, rule_pk: int) -> HttpResponse:
    _require_editor(request)
    rule = _rule(kind, pk, rule_pk)
    try:
        services.rule_delete(rule=rule, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed “{rule.label}”.")
    return redirect("scoring:rules", pk=pk)


@require_POST
def rule_points(request: HttpRequest, pk: int, kind: str, rule_pk: int) -> HttpResponse:
    _require_editor(request)
    rule = _rule(kind, pk, rule_pk)
    form = PointsForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Rule “{rule.label}”: points must be a whole number.")
    else:
        try:
            services.rule_points_set(rule=rule, by=request.user, points=form.cleaned_data["points"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"“{rule.label}” now gives {rule.points} points.")
    return redirect("scoring:rules", pk=pk)


def simulate_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    version = get_object_or_404(ULDVersion, pk=pk)
    simulation = simulation_run(draft=version, user=request.user)
    return render(request, "scoring/simulation.html", {"simulation": simulation, "version": version})


def runs_view(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    template = "scoring/_runs.html" if request.htmx else "scoring/runs.html"
    return render(request, template, {"runs": rescore_runs()})


def _trend_points(scores: list[int], width: int = 160, height: int = 32) -> str:
    if len(scores) < 2:
        return ""
    low, high = min(scores), max(scores)
    span = (high - low) or 1
    step = width / (len(scores) - 1)
    return " ".join(f"{i * step:.1f},{height - (s - low) / span * height:.1f}" for i, s in enumerate(scores))


def lead_score_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The explanation of a lead's score: contributions, trend and what keeps it from sales-ready."""
    if not (is_admin(request.user) or has_role(request.user, Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING)):
        raise PermissionDenied("Your role reads reports, not leads.")
    lead = lead_get(user=request.user, pk=pk)
    explanation = lead_score_explain(lead=lead)
    context = {
        "lead": lead,
        "explanation": explanation,
        "trend": _trend_points(explanation.trend) if explanation else "",
    }
    template = "scoring/_lead_score.html" if request.htmx else "scoring/lead_score.html"
    return render(request, template, context)
