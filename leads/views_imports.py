"""Pages of the import journey: upload, configure and preview, run with live progress, result, undo."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadops.downloads import as_attachment
from leadops.errors import ApplicationError
from leads.forms_imports import ImportConfigureForm, ImportUploadForm
from leads.imports.detect import DELIMITER_LABELS, ENCODINGS
from leads.imports.mapping import TARGETS
from leads.models import DuplicatePolicy, ImportJob, ImportStatus
from leads.roles import Role, has_role, is_admin
from leads.selectors_imports import import_batch_leads, import_error_file, import_job_list
from leads.services.imports import (
    NewCampaign,
    import_job_cancel,
    import_job_configure,
    import_job_create,
    import_job_path,
    import_job_preview,
    import_job_start,
    import_job_undo,
    mapping_preset_save,
)


def require_importer(user) -> None:
    if not (is_admin(user) or has_role(user, Role.MARKETING)):
        raise PermissionDenied("Imports are for marketing.")


def _job(request: HttpRequest, pk: int) -> ImportJob:
    require_importer(request.user)
    return get_object_or_404(ImportJob.objects.select_related("campaign", "created_by"), pk=pk)


@login_required
def import_list_view(request: HttpRequest) -> HttpResponse:
    require_importer(request.user)
    return render(request, "leads/imports/list.html", {"jobs": import_job_list(user=request.user)[:100]})


@login_required
def import_new_view(request: HttpRequest) -> HttpResponse:
    require_importer(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = data["campaign"] or NewCampaign(
                name=data["new_campaign_name"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                cost=data["cost"] or 0,
            )
            job = import_job_create(by=request.user, upload=data["file"], campaign=campaign, source=data["source"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("imports:configure", pk=job.pk)
    return render(request, "leads/imports/new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def import_configure_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.status != ImportStatus.DRAFT:
        return redirect("imports:detail", pk=job.pk)
    error = ""
    if request.method == "POST":
        form = ImportConfigureForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            mapping = (
                {str(i): request.POST.get(f"map_{i}", "ignore") for i in range(len(job.headers))}
                if "map_0" in request.POST
                else None
            )
            try:
                import_job_configure(
                    job=job,
                    encoding=data["encoding"] or None,
                    delimiter=data["delimiter"] or None,
                    sheet=data["sheet"] or None,
                    header_line=data["header_line"],
                    mapping=mapping,
                    keep_extra=data["keep_extra"],
                    duplicate_policy=data["duplicate_policy"] or None,
                )
                action = request.POST.get("action", "")
                if action == "save_preset":
                    preset = mapping_preset_save(by=request.user, job=job, name=data["preset_name"])
                    messages.success(request, f"Saved the mapping as “{preset.name}”.")
                elif action == "start":
                    import_job_start(job=job, by=request.user)
                    return redirect("imports:detail", pk=job.pk)
            except ApplicationError as exc:
                error = exc.message
        else:
            error = "Some settings are not valid: " + "; ".join(
                f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()
            )
        job.refresh_from_db()
    try:
        preview = import_job_preview(job=job)
    except ApplicationError as exc:
        preview, error = None, error or exc.message
    else:
        # Known now, so the progress bar has a scale from the first poll.
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.DRAFT).update(total_rows=preview.total)
    context = {
        "job": job,
        "preview": preview,
        "preview_cells": [_preview_cells(job, item) for item in preview.rows] if preview else [],
        "error": error,
        "targets": TARGETS,
        "encodings": ENCODINGS,
        "delimiters": DELIMITER_LABELS,
        "policies": DuplicatePolicy.choices,
        "columns": [(str(i), header, job.mapping.get(str(i), "ignore")) for i, header in enumerate(job.headers)],
    }
    template = "leads/imports/_setup.html" if request.htmx else "leads/imports/configure.html"
    return render(request, template, context, status=400 if error and not request.htmx else 200)


def _preview_cells(job: ImportJob, item) -> dict:
    """Lay out one preview row as it will be stored, with each problem on the cell it came from."""
    row = item.row
    cells = []
    for key, target in job.mapping.items():
        if target == "ignore":
            continue
        index = int(key)
        raw = item.cells[index] if index < len(item.cells) else ""
        if target == "email":
            value = row.email or raw
        elif target == "full_name":
            value = " · ".join(filter(None, (row.fields.get("first_name"), row.fields.get("last_name"))))
        elif target == "employees":
            value = row.fields.get("employees", raw)
        elif target == "extra":
            value = row.extra.get(job.headers[index], "") if job.keep_extra else ""
        elif target in ("rating", "notes", "badge_id"):
            value = row.scan.get(target, "")
        elif target == "scanned_at":
            value = row.occurred_at.isoformat(sep=" ") if row.occurred_at else raw
        else:
            value = row.fields.get(target, raw)
        if index in row.errors:
            css, message = "cell-error", row.errors[index]
        elif index in row.warnings:
            css, message = "cell-warning", row.warnings[index]
        else:
            css, message = "", ""
        cells.append({"value": value, "css": css, "message": message})
    return {"line": item.line, "status": item.status, "cells": cells, "row_error": row.errors.get(-1, "")}


@login_required
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.status == ImportStatus.DRAFT:
        return redirect("imports:configure", pk=job.pk)
    return render(request, "leads/imports/detail.html", {"job": job})


@login_required
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "leads/imports/_progress.html", {"job": _job(request, pk)})


@login_required
@require_POST
def import_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        import_job_cancel(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "Cancelling: the import stops after the rows it is writing now.")
    return redirect("imports:detail", pk=job.pk)


@login_required
@require_POST
def import_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        report = import_job_undo(job=job, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Undone: {report['deleted']} leads removed, {report['restored']} restored"
            + (f", {len(report['kept'])} left as they were (worked since)." if report["kept"] else "."),
        )
    return redirect("imports:detail", pk=job.pk)


@login_required
def import_errors_view(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = _job(request, pk)
    response = StreamingHttpResponse(import_error_file(job=job), content_type="text/csv; charset=utf-8")
    return as_attachment(response, f"import-{job.pk}-errors.csv")


@login_required
def import_original_view(request: HttpRequest, pk: int) -> FileResponse:
    """Download the uploaded file as it came: always a download, never shown in the app's origin."""
    job = _job(request, pk)
    try:
        handle = open(import_job_path(job), "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        raise Http404("The uploaded file is no longer stored.")
    # octet-stream: a browser saves it and never renders it, whatever the file holds.
    response = FileResponse(handle, content_type="application/octet-stream")
    return as_attachment(response, job.original_name)


@login_required
def import_leads_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    leads = import_batch_leads(job=job, user=request.user)
    return render(request, "leads/imports/batch_leads.html", {"job": job, "leads": leads[:500], "count": leads.count()})
