from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from leads.roles import Role, has_role, is_admin
from reporting.selectors import stage_flow


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not (is_admin(request.user) or has_role(request.user, Role.EXECUTIVE, Role.SALES_MANAGER, Role.MARKETING)):
        raise PermissionDenied("The dashboard is for executives, managers and marketing.")
    end = timezone.now()
    start = end - dt.timedelta(days=30)
    return render(
        request, "reporting/dashboard.html", {"flow": stage_flow(start=start, end=end), "start": start, "end": end}
    )
