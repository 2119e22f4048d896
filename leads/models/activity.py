from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .guard import AppendOnlyViolation


class ActivityKind(models.TextChoices):
    WEB_VISIT = "web_visit", "Web visit"
    FORM_FILL = "form_fill", "Form fill"
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    DOWNLOAD = "download", "Download"
    WEBINAR = "webinar", "Webinar attended"
    BADGE_SCAN = "badge_scan", "Badge scan"
    CALL = "call", "Call"
    EMAIL_SENT = "email_sent", "Email sent"
    MEETING = "meeting", "Meeting"
    SOCIAL = "social", "Social touch"
    NOTE = "note", "Note"
    NURTURE_EMAIL = "nurture_email", "Nurture email"


# Kinds that are a salesperson reaching out (they count as sales touches).
SALES_TOUCH_KINDS = frozenset({ActivityKind.CALL, ActivityKind.EMAIL_SENT, ActivityKind.MEETING, ActivityKind.SOCIAL})


class ActivityQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation("Activities are append-only; record a new activity instead.")


class Activity(models.Model):
    """An append-only entry on a lead's timeline."""

    # Indexed by activity_lead_latest, which leads with it.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="activities", db_index=False)
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # What recorded it when no person did: "import", "api", "nurture", "system", "demo".
    source = models.CharField(max_length=20, default="user")
    # Flat details (an API event's properties, a badge scan's rating, ...): scoring rules test a top-level key.
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ActivityKind.values), name="activity_kind_known"),
        ]
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_latest"),
            models.Index(fields=["occurred_at"], name="activity_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyViolation("Activities are append-only; record a new activity instead.")
        super().save(*args, **kwargs)
