"""Integrations → Webhooks: endpoints, their one-time secret, the delivery log, test sends."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadops.errors import ApplicationError
from leads.forms_webhooks import WebhookEndpointForm
from leads.models import WebhookDelivery, WebhookEndpoint
from leads.roles import Role, has_role, is_admin
from leads.selectors_webhooks import webhook_delivery_log, webhook_endpoint_list
from leads.services.webhooks import (
    webhook_delivery_retry,
    webhook_endpoint_create,
    webhook_endpoint_deactivate,
    webhook_test_send,
)


def require_integrator(user) -> None:
    # Marketing sees every lead already, so sending leads to its CRM reveals nothing new.
    if not (is_admin(user) or has_role(user, Role.MARKETING)):
        raise PermissionDenied("Webhooks are managed by administrators and marketing.")


@login_required
def webhook_list_view(request: HttpRequest) -> HttpResponse:
    require_integrator(request.user)
    return render(request, "leads/webhooks/list.html", {"endpoints": webhook_endpoint_list()})


@login_required
def webhook_new_view(request: HttpRequest) -> HttpResponse:
    require_integrator(request.user)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = webhook_endpoint_create(
                by=request.user, name=data["name"], url=data["url"], stages=data["stages"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            # The secret is shown on this response only; no later page prints it in full.
            return render(request, "leads/webhooks/created.html", {"endpoint": endpoint}, status=201)
    return render(request, "leads/webhooks/new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def webhook_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_integrator(request.user)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    context = {"endpoint": endpoint, "deliveries": webhook_delivery_log(endpoint=endpoint)}
    template = "leads/webhooks/_deliveries.html" if request.htmx else "leads/webhooks/detail.html"
    return render(request, template, context)


@login_required
@require_POST
def webhook_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_integrator(request.user)
    endpoint = webhook_endpoint_deactivate(endpoint=get_object_or_404(WebhookEndpoint, pk=pk))
    messages.success(request, f"{endpoint.name} is deactivated; nothing more is sent to it.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@login_required
@require_POST
def webhook_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_integrator(request.user)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    try:
        webhook_test_send(endpoint=endpoint)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "A test delivery was queued; its result appears in the log below.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@login_required
@require_POST
def webhook_delivery_retry_view(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    require_integrator(request.user)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_pk, endpoint_id=pk)
    try:
        webhook_delivery_retry(delivery=delivery)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "The delivery will be sent again now.")
    return redirect("webhooks:detail", pk=pk)
