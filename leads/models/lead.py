from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Trim
from django.urls import reverse
from django.utils import timezone

from leads.lifecycle import Stage

from .guard import check_stage_write


class SourceChannel(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    EVENT = "event", "Event"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    NURTURE = "nurture", "Nurture"


class SizeBand(models.TextChoices):
    MICRO = "1-10", "1–10"
    SMALL = "11-50", "11–50"
    MEDIUM = "51-200", "51–200"
    LARGE = "201-1000", "201–1,000"
    ENTERPRISE = "1001-5000", "1,001–5,000"
    GLOBAL = "5001+", "5,001+"

    @classmethod
    def for_employees(cls, employees: int | None) -> str:
        if employees is None:
            return ""
        for band, upper in (
            (cls.MICRO, 10),
            (cls.SMALL, 50),
            (cls.MEDIUM, 200),
            (cls.LARGE, 1000),
            (cls.ENTERPRISE, 5000),
        ):
            if employees <= upper:
                return band.value
        return cls.GLOBAL.value


class Timeframe(models.TextChoices):
    NOW = "now", "Buying now"
    LT_3M = "lt_3m", "Within 3 months"
    M3_6 = "3_6m", "3–6 months"
    M6_12 = "6_12m", "6–12 months"
    GT_12M = "gt_12m", "More than 12 months"
    UNKNOWN = "", "Unknown"


class Authority(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"
    UNKNOWN = "", "Unknown"


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    NONE = "", "Not scored"


class LeadQuerySet(models.QuerySet):
    """Refuses bulk writes of `stage` outside the lifecycle service (which logs every change)."""

    def locked(self, **kwargs) -> LeadQuerySet:
        """Lock the selected leads until the transaction ends, the one way every writer locks a lead.

        FOR NO KEY UPDATE: a lead's primary key never changes, and FOR UPDATE would also block the FOR KEY
        SHARE that a child row's foreign key takes on its lead; a writer holding a lead FOR UPDATE while
        waiting for a row that such a transaction holds deadlocks with it, and so does a transaction that
        upgrades its own NO KEY UPDATE to it. Only `of` the lead rows, whatever the query joins. The lock
        order is in scoring.services. Ignored where the database has no row locks (SQLite).
        """
        return self.select_for_update(no_key=True, of=("self",), **kwargs)

    def update(self, **kwargs):
        if "stage" in kwargs:
            check_stage_write("QuerySet.update(stage=...)")
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        if "stage" in fields:
            check_stage_write("bulk_update(fields=['stage', ...])")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(self, objs, *args, **kwargs):
        check_stage_write("Lead bulk_create")
        return super().bulk_create(objs, *args, **kwargs)


class Lead(models.Model):
    # The person
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    # Stored trimmed and lower-cased (a check constraint holds it), so the plain unique index is
    # case-insensitive uniqueness and also serves `email IN (...)` lookups during imports.
    email = models.CharField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=200, blank=True)
    # The company
    company_name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=255, blank=True)
    company_domain = models.CharField(max_length=255, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    size_band = models.CharField(max_length=10, choices=SizeBand.choices, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    # Qualification facts (BANT)
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    authority = models.CharField(max_length=20, choices=Authority.choices, blank=True)
    need = models.TextField(blank=True)
    timeframe = models.CharField(max_length=10, choices=Timeframe.choices, blank=True)
    # Where it came from and who has it
    source_channel = models.CharField(max_length=20, choices=SourceChannel.choices, default=SourceChannel.INBOUND)
    # No single-column index on campaign or owner: lead_campaign_id and lead_owner_id lead with them, and
    # every index is one more write for each imported lead.
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    # Lifecycle: written only by leads.services.lifecycle
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.INQUIRY, editable=False)
    stage_entered_at = models.DateTimeField(default=timezone.now, editable=False)
    # Score (kept current by the scoring app)
    score = models.IntegerField(default=0, editable=False)
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True, editable=False)
    # db_default too: raw loaders (COPY) that predate these columns still insert rows.
    score_fit = models.IntegerField(default=0, db_default=0, editable=False)
    score_engagement = models.IntegerField(default=0, db_default=0, editable=False)
    # When the score last changed (a re-score that changes nothing writes nothing).
    scored_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The ULD version under which the lead last became an MQL.
    qualified_uld_version = models.ForeignKey(
        "leads.ULDVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # Timestamps and counts
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_touch_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_follow_up_at = models.DateTimeField(null=True, blank=True)
    sales_touches = models.PositiveIntegerField(default=0, editable=False)
    nurture_touches = models.PositiveIntegerField(default=0, editable=False)
    # The rep's queue: when the current owner got the lead, when the first touch is due (the SLA clock)
    # and when it happened.
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_touch_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_touch_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The follow-up time still owed a reminder: set with `next_follow_up_at` by the queue services,
    # cleared when the reminder is claimed, so the reminder scan reads only pending rows.
    reminder_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The deal, once the lead is an opportunity.
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_on = models.DateField(null=True, blank=True)
    # Columns from imports that map to no field, kept at the user's choice.
    extra = models.JSONField(default=dict, blank=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["email"], name="lead_email_unique"),
            models.CheckConstraint(
                condition=models.Q(email__isnull=True) | (~models.Q(email="") & models.Q(email=Lower(Trim("email")))),
                name="lead_email_normalised",
            ),
            models.CheckConstraint(
                condition=models.Q(email__isnull=False) | ~models.Q(phone=""),
                name="lead_reachable",
                violation_error_message="A lead needs an email address or a phone number.",
            ),
            models.CheckConstraint(condition=models.Q(stage__in=Stage.values), name="lead_stage_known"),
            models.CheckConstraint(condition=models.Q(grade__in=Grade.values), name="lead_grade_known"),
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget__gte=0), name="lead_budget_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(deal_amount__isnull=True) | models.Q(deal_amount__gte=0),
                name="lead_deal_amount_not_negative",
            ),
        ]
        indexes = [
            # Keyset pagination (-id) within the list's common filters.
            models.Index(fields=["owner", "-id"], name="lead_owner_id"),
            models.Index(fields=["stage", "-id"], name="lead_stage_id"),
            models.Index(fields=["campaign", "-id"], name="lead_campaign_id"),
            models.Index(fields=["grade", "-id"], name="lead_grade_id"),
            models.Index(fields=["owner", "next_follow_up_at"], name="lead_owner_followup"),
            models.Index(fields=["created_at"], name="lead_created"),
            # The reminder scan: pending reminders in due order; its size is the backlog, not the table.
            models.Index(
                fields=["reminder_due_at"],
                condition=models.Q(reminder_due_at__isnull=False),
                name="lead_reminder_pending",
            ),
            # The rep's queue: every column its sort key and counts read, for the leads sales works, so
            # ordering a rep's queue is an index-only scan and only the page's rows are read from the table.
            models.Index(
                fields=["owner", "next_follow_up_at"],
                include=["stage", "grade", "score"],
                condition=models.Q(stage__in=["inquiry", "mql", "sal", "sql", "opportunity"]),
                name="lead_queue",
            ),
            # The SLA scan: owned leads still waiting for their first touch, by deadline.
            models.Index(
                fields=["first_touch_due_at"],
                condition=models.Q(owner__isnull=False, first_touch_at__isnull=True),
                name="lead_first_touch_due",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_stage", None)
        if self._state.adding or (loaded is not None and loaded != self.stage):
            check_stage_write("Lead.save() of a new lead or a changed stage")
        if self.email is not None:
            self.email = normalise_email(self.email)
        super().save(*args, **kwargs)
        self._loaded_stage = self.stage

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_stage = instance.__dict__.get("stage")
        return instance

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self) -> str:
        return self.full_name or self.email or self.phone or f"Lead {self.pk}"


def normalise_email(value: str | None) -> str | None:
    """Return the email trimmed and lower-cased, or None when nothing is left."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None
