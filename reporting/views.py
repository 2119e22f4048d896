"""Report pages. Each parses the filters from the URL, calls selectors, renders tables (or one as CSV)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from leadops.downloads import as_attachment
from leadops.errors import ApplicationError
from reporting.filters import ReportFilterForm, ReportFilters, ReportScope, report_scope
from reporting.forms import RevenueGapForm, month_from_param
from reporting.models import ReviewSnapshot
from reporting.reviews import review_tables
from reporting.selectors import (
    alignment_report,
    cost_report,
    funnel_report,
    measured_assumptions,
    open_pipeline,
    revenue_gap,
)
from reporting.services import review_snapshot_save
from reporting.tables import Table, alignment_tables, cost_tables, funnel_tables, gap_table, table_csv


def _scope(request: HttpRequest) -> ReportScope:
    scope = report_scope(request.user)
    if scope is None:
        raise PermissionDenied("Your role has no reports.")
    return scope


def _filters(request: HttpRequest, scope: ReportScope, *, default_period: str = "this_month"):
    data = request.GET.copy()
    data.setdefault("period", default_period)
    form = ReportFilterForm(data, scope=scope)
    return form, form.filters()


def _render(request: HttpRequest, template: str, tables: list[Table], context: dict) -> HttpResponse:
    """Render the page, or the one table named by ?export= as CSV."""
    export = request.GET.get("export")
    if export:
        table = next((t for t in tables if t.id == export), None)
        if table is None:
            messages.error(request, f"There is no table {export!r} on this page to export.")
            query = request.GET.copy()
            query.pop("export")
            return redirect(f"{request.path}?{query.urlencode()}")
        response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
        return as_attachment(response, f"{table.id}.csv")
    query = request.GET.copy()
    query.pop("export", None)
    return render(request, template, {"tables": tables, "query": query.urlencode(), **context})


def _costs_visible(filters: ReportFilters, scope: ReportScope) -> bool:
    # Cost per stage divides a whole campaign's cost by its leads, so it is shown only for the whole
    # funnel, not a team's or a rep's slice of it.
    return scope.sees_costs and scope.owner_ids is None and filters.team_id is None and filters.owner_id is None


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form, filters = _filters(request, scope)
    report = funnel_report(filters=filters, scope=scope)
    tables = funnel_tables(report)
    show_costs = _costs_visible(filters, scope)
    if show_costs:
        tables += cost_tables(cost_report(report=report))
    context = {"form": form, "filters": filters, "scope": scope, "show_costs": show_costs, "page": "dashboard"}
    return _render(request, "reporting/dashboard.html", tables, context)


@login_required
def alignment_view(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form, filters = _filters(request, scope)
    tables = alignment_tables(alignment_report(filters=filters, scope=scope))
    context = {"form": form, "filters": filters, "scope": scope, "page": "alignment"}
    return _render(request, "reporting/alignment.html", tables, context)


@login_required
def revenue_gap_view(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form, filters = _filters(request, scope, default_period="last_90")
    report = funnel_report(filters=filters, scope=scope)
    measured = measured_assumptions(report=report)
    gap_form = RevenueGapForm(request.GET if "target" in request.GET else None, measured=measured)
    pipeline = open_pipeline(filters=filters, scope=scope)
    tables: list[Table] = []
    if gap_form.is_valid():
        rows = revenue_gap(
            target=gap_form.cleaned_data["target"], assumptions=gap_form.assumptions(), pipeline=pipeline
        )
        tables.append(gap_table(rows, pipeline["open_opportunity_amount"]))
    context = {
        "form": form,
        "filters": filters,
        "gap_form": gap_form,
        "measured": measured,
        "pipeline": pipeline,
        "scope": scope,
        "filter_params": [(k, v) for k, v in request.GET.items() if k in form.fields],
        "page": "revenue_gap",
    }
    return _render(request, "reporting/revenue_gap.html", tables, context)


@login_required
def review_view(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope.owner_ids is not None:
        raise PermissionDenied("The monthly review covers every team; it is for executives and marketing.")
    month = month_from_param(request.GET.get("month"), today=timezone.localdate())
    if month is None:
        messages.error(request, "Give the month as YYYY-MM; showing last month.")
        return redirect(reverse("reporting:review"))
    snapshot = ReviewSnapshot.objects.filter(month=month).first()
    # A saved review renders from its stored tables, never recomputed: it reopens exactly as it was saved.
    tables = [Table(**t) for t in snapshot.data["tables"]] if snapshot is not None else review_tables(month=month)
    context = {
        "month": month,
        "snapshot": snapshot,
        "previous": (month - dt.timedelta(days=1)).replace(day=1),
        "saved_months": ReviewSnapshot.objects.values_list("month", flat=True)[:24],
        "scope": scope,
        "page": "review",
    }
    return _render(request, "reporting/review.html", tables, context)


@login_required
@require_POST
def review_save_view(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope.owner_ids is not None:
        raise PermissionDenied("The monthly review covers every team; it is for executives and marketing.")
    month = month_from_param(request.POST.get("month"), today=timezone.localdate())
    if month is None:
        messages.error(request, "Give the month as YYYY-MM.")
        return redirect(reverse("reporting:review"))
    try:
        review_snapshot_save(month=month, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Saved the review of {month:%B %Y}; it will reopen exactly as it is now.")
    return redirect(f"{reverse('reporting:review')}?month={month:%Y-%m}")
