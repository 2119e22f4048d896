"""Reads for the webhooks pages."""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from leads.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    """Return every endpoint with its delivery counts by status and its last delivery time."""
    return WebhookEndpoint.objects.select_related("created_by").annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SUCCEEDED)),
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        last_delivery_at=Max("deliveries__created_at"),
    )


def webhook_delivery_log(*, endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """Return the endpoint's latest deliveries, newest first, each with its attempts in order."""
    return list(
        endpoint.deliveries.select_related("lead", "stage_change")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")[:limit]
    )
