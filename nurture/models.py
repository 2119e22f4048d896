"""Nurture tracks, their steps, each lead's enrolment, each step's delivery, and email suppressions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Channel(models.TextChoices):
    EMAIL = "email", "Email (sent by the system)"
    CALL = "call", "Task: call"
    SOCIAL = "social", "Task: social touch"


class ExitReason(models.TextChoices):
    SALES_READY = "sales_ready", "Sales-ready (handed to sales)"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    WORKED_BY_SALES = "worked_by_sales", "Worked by sales"
    COMPLETED = "completed", "Completed the track"
    LEFT_NURTURE = "left_nurture", "Left nurture (disqualified or moved by hand)"
    REMOVED = "removed", "Removed by hand"


# Activities a step may be skipped for ("skip if the lead already did X").
SKIP_IF_CHOICES = [
    ("", "Never skip"),
    ("form_fill", "the lead filled a form"),
    ("download", "the lead downloaded content"),
    ("webinar", "the lead attended a webinar"),
    ("email_click", "the lead clicked an email"),
    ("web_visit", "the lead visited the website"),
]


class Track(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class OnComplete(models.TextChoices):
        PARK = "park", "Park the lead (stay in nurture, no track)"
        RECYCLE = "recycle", "Recycle into another track"

    name = models.CharField(max_length=120)
    # The ULD's routes name a track as "nurture:<slug>".
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="nurture_tracks"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Audience: the grades routed here (informational; the ULD's routes decide) and the rejection reason
    # codes whose "return to nurture" leads this track takes.
    audience_grades = models.JSONField(default=list, blank=True)
    audience_reasons = models.JSONField(default=list, blank=True)
    # The track for returned leads whose reason no track lists.
    is_default_return = models.BooleanField(default=False)
    on_complete = models.CharField(max_length=10, choices=OnComplete.choices, default=OnComplete.PARK)
    recycle_track = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recycle_after_days = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["draft", "active", "paused"]), name="track_status"),
            models.UniqueConstraint(
                fields=["is_default_return"], condition=models.Q(is_default_return=True), name="track_one_default"
            ),
            models.CheckConstraint(
                condition=models.Q(on_complete="park") | models.Q(recycle_track__isnull=False),
                name="track_recycle_has_target",
            ),
            models.CheckConstraint(condition=~models.Q(recycle_track=models.F("id")), name="track_recycle_not_self"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("nurture:track", args=[self.slug])


class Step(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    wait_days = models.PositiveIntegerField(default=3, help_text="Days after the previous step (or enrolment).")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    content_url = models.URLField(max_length=500, blank=True)
    skip_if = models.CharField(max_length=20, choices=SKIP_IF_CHOICES, blank=True)

    class Meta:
        ordering = ["track", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "position"], name="step_position_unique"),
            models.CheckConstraint(
                condition=~models.Q(channel="email") | ~models.Q(subject=""), name="step_email_subject"
            ),
            models.CheckConstraint(condition=models.Q(channel__in=["email", "call", "social"]), name="step_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.track} step {self.position}"

    @property
    def is_email(self) -> bool:
        return self.channel == Channel.EMAIL


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXITED = "exited", "Exited"

    class Source(models.TextChoices):
        ROUTING = "routing", "the ULD routing"
        REJECTION = "rejection", "a return from sales"
        MANUAL = "manual", "enrolment by hand"
        RECYCLE = "recycle", "recycling"
        API = "api", "the API"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="nurture_enrolments")
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    enrolled_at = models.DateTimeField(default=timezone.now)
    # The next step to deliver (None once every step is delivered) and when it falls due.
    next_step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    next_due_at = models.DateTimeField(null=True, blank=True)
    steps_done = models.PositiveIntegerField(default=0)
    exit_reason = models.CharField(max_length=20, choices=ExitReason.choices, blank=True)
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=models.Q(status="active"), name="enrolment_one_active_per_lead"
            ),
            models.CheckConstraint(
                condition=(models.Q(status="active") & models.Q(exit_reason=""))
                | (models.Q(status="exited") & ~models.Q(exit_reason="") & models.Q(exited_at__isnull=False)),
                name="enrolment_exit_consistent",
            ),
        ]
        indexes = [
            # The beat scan: active enrolments by due time; its size is the active set, not the history.
            models.Index(fields=["next_due_at"], condition=models.Q(status="active"), name="enrolment_due"),
            models.Index(fields=["track", "status"], name="enrolment_track_status"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} in {self.track}"


class Delivery(models.Model):
    """One step delivered to one enrolment: the unique constraint makes each step go out at most once."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        TASK_OPEN = "task_open", "Task open"
        TASK_DONE = "task_done", "Task done"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="deliveries")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="deliveries")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    note = models.CharField(max_length=300, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "step"], name="delivery_once_per_step"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.step} to lead {self.lead_id}: {self.status}"


class Suppression(models.Model):
    """A lead nurture must not email again (unsubscribed or bounced). Checked at send time."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="nurture_suppression")
    reason = models.CharField(max_length=15, choices=Reason.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.reason}"
