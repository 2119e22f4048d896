from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leads.roles import is_admin
from leads.selectors_system import system_status
from leads.tasks import system_heartbeat


@login_required
def system_status_view(request: HttpRequest) -> HttpResponse:
    # A signed-in non-admin gets a 403 page, not a login form that would not let them in either.
    if not is_admin(request.user):
        raise PermissionDenied("System status is for administrators.")
    if request.method == "POST":
        # Ask a worker to prove it is alive; the page shows the result on its next poll.
        transaction.on_commit(lambda: system_heartbeat.delay(source="web"))
        messages.info(request, "A heartbeat task was sent; a live worker records it within seconds.")
        return redirect("system_status")
    template = "leads/_system_status_rows.html" if request.htmx else "leads/system_status.html"
    return render(request, template, {"components": system_status()})
