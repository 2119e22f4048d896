"""Rows the rep's queue writes: routing rules, the assignment log, reminders and in-app notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .guard import AppendOnlyViolation


class RuleField(models.TextChoices):
    COUNTRY = "country", "Country"
    REGION = "region", "Region"
    INDUSTRY = "industry", "Industry"
    SIZE_BAND = "size_band", "Company size band"
    ANY = "any", "Any lead (catch-all)"


class AssignmentRule(models.Model):
    """Send leads whose `field` is one of `values` to `team`. The lowest `position` that matches wins."""

    position = models.PositiveIntegerField()
    field = models.CharField(max_length=20, choices=RuleField.choices)
    # Comma-separated values, compared case-insensitively; ignored for the catch-all.
    values = models.CharField(max_length=500, blank=True)
    team = models.ForeignKey("leads.Team", on_delete=models.CASCADE, related_name="assignment_rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(field__in=RuleField.values), name="assignment_rule_field_known"),
            models.CheckConstraint(
                condition=models.Q(field=RuleField.ANY) | ~models.Q(values=""), name="assignment_rule_has_values"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.get_field_display()} {self.values} → {self.team}"

    def value_set(self) -> set[str]:
        return {v.strip().lower() for v in self.values.split(",") if v.strip()}


class TeamRoundRobin(models.Model):
    """Whose turn it is in a team. Its row is also the lock that serialises auto-assignment per team."""

    team = models.OneToOneField("leads.Team", primary_key=True, on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"{self.team}: last {self.last_user_id}"


class AssignmentKind(models.TextChoices):
    AUTO = "auto", "Assigned by rules"
    CLAIM = "claim", "Claimed by the rep"
    REASSIGN = "reassign", "Reassigned by a manager"
    RECLAIM = "reclaim", "Reclaimed after the SLA"
    RELEASE = "release", "Released (rejected or returned)"


class AssignmentLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation("The assignment log is append-only.")


class AssignmentLog(models.Model):
    """One change of a lead's owner: who had it, who has it, who decided, why. Append-only."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=AssignmentKind.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = AssignmentLogQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=AssignmentKind.values), name="assignment_kind_known"),
        ]
        indexes = [models.Index(fields=["lead", "at"], name="assignment_lead_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.from_owner_id} → {self.to_owner_id} ({self.kind})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyViolation("The assignment log is append-only.")
        super().save(*args, **kwargs)


class ReminderKind(models.TextChoices):
    FOLLOW_UP = "follow_up", "Follow-up due"
    ESCALATION = "escalation", "First-touch SLA breached"
    RECLAIM = "reclaim", "Reclaimed after the SLA"


class Reminder(models.Model):
    """The claim on one side effect: at most one reminder per lead, due time and kind.

    The unique constraint, not timing, is what makes a reminder fire once when the scan runs twice, a
    message is redelivered or two beat processes overlap: the second insert fails and sends nothing.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=12, choices=ReminderKind.choices)
    due_at = models.DateTimeField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Set by a conditional update just before the email goes out, so a retry never mails twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "due_at", "kind"], name="reminder_once_per_due"),
            models.CheckConstraint(condition=models.Q(kind__in=ReminderKind.values), name="reminder_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for lead {self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"


class DigestSent(models.Model):
    """One daily digest per person and local day (the unique constraint makes a rerun send nothing)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "day"], name="digest_once_per_day")]

    def __str__(self) -> str:
        return f"digest for {self.recipient_id} on {self.day}"


class Notification(models.Model):
    """An in-app message behind the bell in the navigation."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reminder = models.OneToOneField(Reminder, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient"),
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.text
