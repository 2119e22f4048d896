"""Behaviour events posted by integrations: stored first (an outbox), handed to Celery after commit."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    """The behaviour an integration may report; each becomes an activity of the same kind."""

    WEB_VISIT = "web_visit", "Web visit"
    FORM_FILL = "form_fill", "Form fill"
    EMAIL_CLICK = "email_click", "Email click"
    WEBINAR = "webinar", "Webinar attended"
    DOWNLOAD = "download", "Download"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not yet handed to the broker
    QUEUED = "queued", "Queued"  # a message for it was published
    PROCESSED = "processed", "Processed"  # its activity is on the lead's timeline
    FAILED = "failed", "Failed"  # refused on processing (see `error`); not retried


class Event(models.Model):
    """One behaviour event, stored once per idempotency key within its scope.

    `scope` names who sent it: "user:<id>" for a session, "<app.model>:<id>" for an API token, so two
    integrations that pick the same ids cannot collide, and one integration retrying always finds its
    own event. `key` is the client's event id (or the request's Idempotency-Key). `body_hash` is the
    sha256 of the event's canonical JSON: the same key with another body is refused, not overwritten.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    type = models.CharField(max_length=20, choices=EventType.choices)
    email = models.CharField(max_length=254, null=True, blank=True)
    # The lead the client named, kept apart from `lead`, which is the lead the event was recorded on.
    requested_lead_id = models.BigIntegerField(null=True, blank=True)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activity = models.OneToOneField(
        "leads.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="event"
    )
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    # Whose permissions processing uses (a lead_id must be visible to them).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    # Hand-overs to the broker so far; the re-drive gives up after LEADOPS_EVENTS_MAX_HANDOVERS.
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    handed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="event_key_unique_per_scope"),
            models.CheckConstraint(condition=models.Q(type__in=EventType.values), name="event_type_known"),
            models.CheckConstraint(condition=models.Q(status__in=EventStatus.values), name="event_status_known"),
            models.CheckConstraint(
                condition=models.Q(email__isnull=False) | models.Q(requested_lead_id__isnull=False),
                name="event_names_a_lead",
            ),
        ]
        indexes = [
            # The re-drive scans only events not yet processed; its size is the backlog, not the table.
            models.Index(
                fields=["received_at"],
                condition=models.Q(status__in=["received", "queued"]),
                name="event_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.key} ({self.status})"
