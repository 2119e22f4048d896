"""The rep's queue, the lead preparation panel with its actions, the manager's board and notifications.

Thin: parse a form, call one service or selector, render. Every lead is fetched through
`lead_scope` (404 for anything the user may not see), in pages, htmx endpoints and the export alike.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from leadops.downloads import as_attachment
from leadops.errors import ApplicationError
from leads.csv_safety import formula_safe_writer
from leads.forms_queue import (
    CloseForm,
    ConvertForm,
    ExpectedStageForm,
    FollowUpForm,
    QualifyForm,
    QueueFilterForm,
    ReassignForm,
    RejectForm,
    TouchForm,
    form_error_text,
)
from leads.lifecycle import Stage
from leads.models import Lead
from leads.queue_policy import active_policy
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_get, lead_scope
from leads.selectors_queue import (
    WORKED,
    lead_preparation,
    manager_board,
    notifications_recent,
    notifications_unread_count,
    queue_export_rows,
    queue_page,
    sla_state,
    team_reps,
)
from leads.services import queue as actions
from leads.services.assignment import leads_reassign
from leads.services.reminders import notifications_mark_read

ULD_GUIDE_PATH = "/uld/guide/"


def _require_queue_user(request: HttpRequest) -> None:
    if not (is_admin(request.user) or has_role(request.user, Role.SALES_REP, Role.SALES_MANAGER)):
        raise PermissionDenied("The queue is for sales reps and managers.")


def _require_manager(request: HttpRequest) -> None:
    if not (is_admin(request.user) or has_role(request.user, Role.SALES_MANAGER)):
        raise PermissionDenied("The board is for sales managers.")


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    _require_queue_user(request)
    form = QueueFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    page = queue_page(
        user=request.user,
        q=filters.get("q") or "",
        bucket=filters.get("bucket") or "",
        grade=filters.get("grade") or "",
        stage=filters.get("stage") or "",
        cursor=filters.get("cursor") or None,
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "policy": page.policy}
    if request.htmx and filters.get("cursor"):
        return render(request, "leads/queue/_rows.html", context)
    return render(request, "leads/queue/queue.html", context)


@login_required
@require_GET
def queue_export_view(request: HttpRequest) -> HttpResponse:
    """Download the user's own queue as CSV (never anyone else's leads)."""
    _require_queue_user(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    as_attachment(response, "my-queue.csv")
    writer = formula_safe_writer(response)
    writer.writerow(["id", "name", "company", "email", "stage", "grade", "score", "next follow-up", "touches"])
    for lead in queue_export_rows(user=request.user):
        writer.writerow(
            [
                lead.pk,
                lead.display_name,
                lead.company_name,
                lead.email or "",
                lead.stage,
                lead.grade,
                lead.score,
                lead.next_follow_up_at.isoformat() if lead.next_follow_up_at else "",
                lead.sales_touches,
            ]
        )
    return response


def _panel_context(request: HttpRequest, lead: Lead) -> dict:
    return {
        "prep": lead_preparation(lead=lead),
        "lead": lead,
        "policy": active_policy(),
        "uld_guide_url": ULD_GUIDE_PATH,
        "touch_form": TouchForm(),
        "reject_form": RejectForm(),
        "qualify_form": QualifyForm(),
        "is_worked": lead.stage in WORKED,
        "can_reject": lead.stage in WORKED and lead.stage != Stage.OPPORTUNITY,
    }


@login_required
@require_GET
def queue_lead_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_queue_user(request)
    lead = lead_get(user=request.user, pk=pk)
    return render(request, "leads/queue/lead.html", _panel_context(request, lead))


def _respond(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-render what the action changed: the queue row or the lead panel (htmx), or redirect."""
    lead = lead_scope(user=request.user).select_related("campaign", "owner").filter(pk=pk).first()
    if request.htmx:
        if request.POST.get("return") == "row":
            if lead is not None:
                lead.sla_state = sla_state(lead=lead, now=timezone.now())
                lead.touch_target = active_policy().min_touches_before_no_response
            return render(request, "leads/queue/_row.html", {"lead": lead, "gone_pk": pk})
        if lead is None:
            return render(request, "leads/queue/_panel_gone.html", {})
        return render(request, "leads/queue/_panel.html", _panel_context(request, lead))
    if lead is None:
        return redirect("queue:home")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("queue:lead", pk=pk)


def _act(request: HttpRequest, pk: int, form_class, run: Callable[[Lead, dict], str]) -> HttpResponse:
    _require_queue_user(request)
    lead = lead_get(user=request.user, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        try:
            messages.success(request, run(lead, form.cleaned_data))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return _respond(request, pk)


def _expected(data: dict) -> str | None:
    return data.get("expected_stage") or None


@login_required
@require_POST
def accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_accept(lead=lead, by=request.user, expected_stage=_expected(data))
        return f"Accepted {lead.display_name}."

    return _act(request, pk, ExpectedStageForm, run)


@login_required
@require_POST
def reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_reject(
            lead=lead,
            by=request.user,
            reason_code=data["reason"],
            comment=data["comment"],
            expected_stage=_expected(data),
            referral_name=data.get("referral_name") or "",
            referral_email=data.get("referral_email") or "",
            referral_title=data.get("referral_title") or "",
            duplicate_of=data.get("duplicate_of"),
        )
        return f"Rejected {lead.display_name}: {active_policy().rejection_reason(data['reason']).label}."

    return _act(request, pk, RejectForm, run)


@login_required
@require_POST
def no_response_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_no_response(lead=lead, by=request.user, expected_stage=_expected(data))
        return f"{lead.display_name} went back to nurture after no response."

    return _act(request, pk, ExpectedStageForm, run)


@login_required
@require_POST
def touch_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_touch_log(
            lead=lead, by=request.user, channel=data["channel"], outcome=data["outcome"], notes=data["notes"]
        )
        lead.refresh_from_db()
        when = timezone.localtime(lead.next_follow_up_at)
        return f"Touch logged ({lead.sales_touches} so far). Next follow-up {when:%a %d %b %H:%M}."

    return _act(request, pk, TouchForm, run)


@login_required
@require_POST
def follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_follow_up_schedule(lead=lead, by=request.user, at=data["at"])
        return f"Follow-up scheduled for {timezone.localtime(data['at']):%a %d %b %H:%M}."

    return _act(request, pk, FollowUpForm, run)


@login_required
@require_POST
def qualify_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_qualify(
            lead=lead,
            by=request.user,
            checklist=_checklist(data),
            expected_stage=_expected(data),
            budget=data.get("budget"),
            authority=data.get("authority") or "",
            need=data.get("need") or "",
            timeframe=data.get("timeframe") or "",
        )
        return f"{lead.display_name} is sales-qualified."

    return _act(request, pk, QualifyForm, run)


def _checklist(data: dict) -> dict[str, bool]:
    return {key: bool(data.get(f"{key}_ok")) for key in ("budget", "authority", "need", "timeframe")}


@login_required
@require_POST
def convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        actions.lead_convert(
            lead=lead,
            by=request.user,
            amount=data["amount"],
            expected_close_on=data["expected_close_on"],
            expected_stage=_expected(data),
        )
        return f"{lead.display_name} is now an opportunity."

    return _act(request, pk, ConvertForm, run)


@login_required
@require_POST
def close_view(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lead, data):
        won = data["outcome"] == "won"
        actions.lead_close(
            lead=lead,
            by=request.user,
            won=won,
            amount=data.get("amount"),
            reason=data.get("reason") or "",
            expected_stage=_expected(data),
        )
        return f"{lead.display_name}: {'won' if won else 'lost'}."

    return _act(request, pk, CloseForm, run)


@login_required
@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    board = manager_board(user=request.user)
    return render(request, "leads/queue/board.html", {"board": board, "reps": team_reps(user=request.user)})


@login_required
@require_POST
def reassign_view(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = ReassignForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("queue:board")
    to_user = get_user_model().objects.filter(pk=form.cleaned_data["to_user"]).first()
    try:
        moved = leads_reassign(
            lead_ids=form.cleaned_data["lead_ids"], to_user=to_user, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Reassigned {moved} lead{'s' if moved != 1 else ''} to {to_user}.")
    return redirect("queue:board")


@login_required
@require_GET
def bell_view(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/queue/_bell.html", {"unread": notifications_unread_count(user=request.user)})


@login_required
@require_GET
def notifications_view(request: HttpRequest) -> HttpResponse:
    context = {
        "notifications": notifications_recent(user=request.user),
        "unread": notifications_unread_count(user=request.user),
    }
    return render(request, "leads/queue/notifications.html", context)


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    return redirect(reverse("queue:notifications"))
