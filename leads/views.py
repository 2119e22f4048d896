from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadops.errors import ApplicationError
from leads.forms import LeadFilterForm, StageChangeForm
from leads.lifecycle import Stage, allowed_targets
from leads.models import Campaign
from leads.navigation import home_url
from leads.permissions import can_change_stage
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_get, lead_list, lead_owner_choices, lead_timeline
from leads.services.lifecycle import lead_stage_change


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url(request.user))


@login_required
def no_role(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/no_role.html", status=403)


def _require_lead_reader(request: HttpRequest) -> None:
    if not (is_admin(request.user) or has_role(request.user, Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING)):
        raise PermissionDenied("Your role reads reports, not leads.")


@login_required
def lead_list_view(request: HttpRequest) -> HttpResponse:
    """List the visible leads, filtered by the query string; htmx asks for the next page's rows only."""
    _require_lead_reader(request)
    form = LeadFilterForm(request.GET, owners=lead_owner_choices(user=request.user))
    # Valid filters apply even when another one is bad; the bad ones are named on the page.
    form.is_valid()
    filters = form.cleaned_data
    page = lead_list(
        user=request.user,
        q=filters.get("q") or "",
        stage=filters.get("stage") or "",
        grade=filters.get("grade") or "",
        owner_id=filters.get("owner"),
        unassigned=bool(filters.get("unassigned")),
        campaign_id=filters.get("campaign"),
        after=filters.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "filter_errors": form.error_summary(),
        "page": page,
        "query": query.urlencode(),
        "campaigns": Campaign.objects.order_by("name").only("id", "name"),
        "filtered": any(filters.get(name) for name in ("q", "stage", "grade", "owner", "unassigned", "campaign")),
    }
    if request.htmx and filters.get("after"):
        return render(request, "leads/_lead_rows.html", context)
    return render(request, "leads/lead_list.html", context, status=400 if form.errors else 200)


@login_required
def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_lead_reader(request)
    lead = lead_get(user=request.user, pk=pk)
    context = {
        "lead": lead,
        "timeline": lead_timeline(lead=lead),
        "can_change_stage": can_change_stage(request.user, lead),
        "targets": [(stage, Stage(stage).label) for stage in allowed_targets(lead.stage)],
    }
    return render(request, "leads/lead_detail.html", context)


@login_required
@require_POST
def lead_stage_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a lead; every refusal (illegal move, someone else moved it first) comes back as a message."""
    _require_lead_reader(request)
    lead = lead_get(user=request.user, pk=pk)
    if not can_change_stage(request.user, lead):
        messages.error(request, "You cannot change the stage of this lead.")
        return redirect(lead)
    form = StageChangeForm(request.POST)
    if not form.is_valid():
        if "to_stage" in form.errors:
            messages.error(request, "Choose one of the listed stages to move the lead to.")
        else:
            messages.error(request, "The form was incomplete. Reload the page and try again.")
        return redirect(lead)
    try:
        lead_stage_change(
            lead=lead,
            to_stage=form.cleaned_data["to_stage"],
            expected_stage=form.cleaned_data["expected_stage"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Moved to {lead.get_stage_display()}.")
    return redirect(lead)
