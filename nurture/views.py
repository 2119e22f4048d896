"""Nurture pages (marketing) and the two links in every nurture email (click, unsubscribe)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leadops.errors import ApplicationError
from leads.models import Lead
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_get
from nurture import selectors
from nurture.forms import BulkEnrolForm, PreviewForm, StepForm, TrackForm
from nurture.models import Delivery, Step, Track
from nurture.services import delivery as delivery_services
from nurture.services import engagement, enrolment, tracks


def _require_marketer(request: HttpRequest) -> None:
    if not (is_admin(request.user) or has_role(request.user, Role.MARKETING)):
        raise PermissionDenied("Nurture tracks belong to marketing.")


@login_required
def track_list_view(request: HttpRequest) -> HttpResponse:
    _require_marketer(request)
    context = {
        "tracks": selectors.track_list(),
        "waiting": selectors.routes_waiting(),
        "parked": selectors.nurture_leads_without_track(),
    }
    return render(request, "nurture/track_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def track_create_view(request: HttpRequest) -> HttpResponse:
    _require_marketer(request)
    form = TrackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            track = tracks.track_create(by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Track {track.name} created. Add its steps, then activate it.")
            return redirect(track)
    return render(request, "nurture/track_form.html", {"form": form}, status=400 if form.errors else 200)


def _builder(request: HttpRequest, track: Track, *, step_form=None, settings_form=None, status=200) -> HttpResponse:
    preview_form = PreviewForm(request.GET)
    preview = None
    steps = list(track.steps.order_by("position"))
    if preview_form.is_valid() and preview_form.cleaned_data.get("lead"):
        lead = Lead.objects.filter(pk=preview_form.cleaned_data["lead"]).first()
        step = next((s for s in steps if s.pk == preview_form.cleaned_data.get("step")), None) or next(
            (s for s in steps if s.is_email), None
        )
        if lead is None:
            messages.error(request, f"There is no lead number {preview_form.cleaned_data['lead']} to preview with.")
        elif step is not None:
            preview = selectors.step_preview(step=step, lead=lead)
    initial = {
        "name": track.name,
        "description": track.description,
        "audience_grades": track.audience_grades,
        "audience_reasons": track.audience_reasons,
        "is_default_return": track.is_default_return,
        "on_complete": track.on_complete,
        "recycle_track": track.recycle_track,
        "recycle_after_days": track.recycle_after_days,
    }
    context = {
        "track": track,
        "steps": steps,
        "step_form": step_form or StepForm(),
        "settings_form": settings_form or TrackForm(initial=initial, track=track),
        "preview": preview,
        "preview_leads": selectors.preview_leads(),
    }
    return render(request, "nurture/track_builder.html", context, status=status)


@login_required
def track_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_marketer(request)
    return _builder(request, selectors.track_get(slug=slug))


@login_required
@require_POST
def track_settings_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_marketer(request)
    track = selectors.track_get(slug=slug)
    form = TrackForm(request.POST, track=track)
    if form.is_valid():
        try:
            tracks.track_update(track=track, by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Track settings saved.")
            return redirect(track)
    track.refresh_from_db()
    return _builder(request, track, settings_form=form, status=400)


@login_required
@require_POST
def track_status_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_marketer(request)
    track = selectors.track_get(slug=slug)
    try:
        if request.POST.get("action") == "activate":
            tracks.track_activate(track=track, by=request.user)
            messages.success(request, f"{track.name} is active: due steps go out and it takes enrolments.")
        else:
            tracks.track_pause(track=track, by=request.user)
            messages.success(request, f"{track.name} is paused: nothing is sent until it is active again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(track)


@login_required
@require_POST
def step_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_marketer(request)
    track = selectors.track_get(slug=slug)
    form = StepForm(request.POST)
    if form.is_valid():
        try:
            step = tracks.step_add(track=track, by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Step {step.position} added.")
            return redirect(track)
    return _builder(request, track, step_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def step_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_marketer(request)
    step = get_object_or_404(Step.objects.select_related("track"), pk=pk)
    initial = {name: getattr(step, name) for name in tracks.STEP_FIELDS}
    form = StepForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            tracks.step_update(step=step, by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Step {step.position} saved.")
            return redirect(step.track)
    return render(request, "nurture/step_form.html", {"form": form, "step": step}, status=400 if form.errors else 200)


@login_required
@require_POST
def step_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_marketer(request)
    step = get_object_or_404(Step.objects.select_related("track"), pk=pk)
    try:
        tracks.step_delete(step=step, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Step deleted.")
    return redirect(step.track)


@login_required
@require_POST
def step_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_marketer(request)
    step = get_object_or_404(Step.objects.select_related("track"), pk=pk)
    tracks.step_move(step=step, by=request.user, direction="up" if request.POST.get("direction") == "up" else "down")
    return redirect(step.track)


@login_required
def track_results_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_marketer(request)
    track = selectors.track_get(slug=slug)
    context = {
        "track": track,
        "results": selectors.track_results(track=track),
        "tasks": selectors.tasks_open(track=track),
    }
    return render(request, "nurture/track_results.html", context)


@login_required
@require_POST
def task_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_marketer(request)
    task = get_object_or_404(Delivery.objects.select_related("step__track"), pk=pk)
    try:
        delivery_services.task_complete(delivery=task, by=request.user, note=request.POST.get("note", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Task done; it counts as a nurture touch.")
    return redirect("nurture:results", slug=task.step.track.slug)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def enrol_bulk_view(request: HttpRequest) -> HttpResponse:
    _require_marketer(request)
    form = BulkEnrolForm(request.POST)
    back = _back(request, "/leads/")
    if not form.is_valid():
        messages.error(request, "Choose an active track to enrol the leads in.")
        return redirect(back)
    try:
        result = enrolment.enrolments_create_bulk(
            lead_ids=form.cleaned_data["lead"], track=form.cleaned_data["track"], by=request.user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    track = form.cleaned_data["track"]
    if result.enrolled:
        messages.success(
            request, f"Enrolled {result.enrolled} lead{'s' if result.enrolled != 1 else ''} in {track.name}."
        )
    for line in result.refused[:10]:
        messages.warning(request, line)
    if len(result.refused) > 10:
        messages.warning(request, f"…and {len(result.refused) - 10} more not enrolled.")
    return redirect(back)


@login_required
@require_POST
def lead_unenrol_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_marketer(request)
    lead = lead_get(user=request.user, pk=pk)
    try:
        enrolment.enrolment_remove(lead=lead, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Taken out of its track; the lead stays in nurture.")
    return redirect(lead)


@login_not_required  # followed from an email by the lead, who has no account
def click_view(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: record the click, then go to the step's content (only ever the stored URL)."""
    target = engagement.click_record(token=token)
    if target is None:
        return HttpResponseBadRequest("This link is not valid.")
    return redirect(target)


@login_not_required
@csrf_exempt  # RFC 8058 one-click: mail clients POST without a session; the signed token is the proof.
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (link scanners must not unsubscribe anyone); POST unsubscribes."""
    from nurture.tokens import unsubscribe_lead_id

    if unsubscribe_lead_id(token) is None:
        return render(request, "nurture/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        result = engagement.unsubscribe_record(token=token)
        if result is None:
            return render(request, "nurture/unsubscribe.html", {"invalid": True}, status=400)
        return render(request, "nurture/unsubscribe.html", {"done": True})
    return render(request, "nurture/unsubscribe.html", {"token": token})
