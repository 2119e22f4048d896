"""The Universal Lead Definition: what marketing and sales agreed a sales-ready lead is, versioned."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class ULDStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    AGREED = "agreed", "Agreed (active)"
    RETIRED = "retired", "Retired"


class SignOffRole(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES_MANAGER = "sales_manager", "Sales manager"


class RejectionRoute(models.TextChoices):
    NURTURE = "nurture", "Return to nurture"
    DISQUALIFY = "disqualify", "Disqualify"
    WRONG_CONTACT = "wrong_contact", "Wrong contact"
    DUPLICATE = "duplicate", "Duplicate"


# Facts a sales-ready lead may be required to have. "reachable" means an email or a phone number.
REQUIRED_FACTS = {
    "company_name": "a company",
    "title": "a job title",
    "reachable": "a reachable email or phone",
    "email": "an email address",
    "phone": "a phone number",
    "industry": "an industry",
    "country": "a country",
    "employees": "a company size",
    "budget": "a budget",
    "authority": "their buying authority",
    "timeframe": "a buying timeframe",
}
# Lead fields an ideal-customer must-have may test against a list of allowed values.
ICP_FIELDS = ("country", "region", "industry", "size_band", "authority", "timeframe", "source_channel")


def default_routes() -> dict[str, str]:
    return {"A": "sales_rep", "B": "nurture:accelerate", "C": "nurture:educate", "D": "nurture:long-term"}


def default_cadence() -> list[int]:
    return [1, 2, 4, 7, 10, 14, 21, 30]


def default_facts() -> list[str]:
    return ["company_name", "title", "reachable"]


class ULDVersion(models.Model):
    """One version of the definition. Only a draft is edited; an agreed version is frozen forever."""

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=ULDStatus.choices, default=ULDStatus.DRAFT)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.TextField(blank=True, help_text="What changed and why, in a sentence or two.")
    # Grade bands by total score: A >= grade_a_min, B >= grade_b_min, C >= grade_c_min, else D.
    grade_a_min = models.IntegerField(default=70)
    grade_b_min = models.IntegerField(default=45)
    grade_c_min = models.IntegerField(default=20)
    # Sales-ready: at least this grade, plus the listed facts and the ideal-customer must-haves.
    sales_ready_min_grade = models.CharField(max_length=1, default="A", choices=[(g, g) for g in "ABC"])
    required_facts = models.JSONField(default=default_facts, blank=True)
    # {"country": ["US", "CA"]}: a sales-ready lead's field must be one of the values (case-insensitive).
    icp_must_haves = models.JSONField(default=dict, blank=True)
    # Grade -> "sales_rep" or "nurture:<track>".
    routes = models.JSONField(default=default_routes)
    first_touch_business_hours = models.PositiveIntegerField(default=4)
    follow_up_cadence_days = models.JSONField(default=default_cadence)
    min_touches_before_no_response = models.PositiveIntegerField(default=8)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    proposed_at = models.DateTimeField(null=True, blank=True)
    agreed_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = "ULD version"
        constraints = [
            # Exactly one agreed (active) version at a time.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="agreed"), name="uld_one_active_version"
            ),
            models.CheckConstraint(condition=models.Q(status__in=ULDStatus.values), name="uld_status_known"),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "proposed"]) | models.Q(agreed_at__isnull=False),
                name="uld_agreed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"ULD v{self.number} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("uld:detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status == ULDStatus.DRAFT

    def grade_for(self, total: int) -> str:
        if total >= self.grade_a_min:
            return "A"
        if total >= self.grade_b_min:
            return "B"
        if total >= self.grade_c_min:
            return "C"
        return "D"

    @property
    def sales_ready_grades(self) -> list[str]:
        return list("ABC"[: "ABC".index(self.sales_ready_min_grade) + 1])


class ULDSignOff(models.Model):
    """A named person's agreement to a proposed version, for one side (marketing or sales)."""

    version = models.ForeignKey(ULDVersion, on_delete=models.CASCADE, related_name="sign_offs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=SignOffRole.choices)
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "role"], name="uld_signoff_one_per_side"),
            models.UniqueConstraint(fields=["version", "user"], name="uld_signoff_two_people"),
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.get_role_display()} on v{self.version.number}"


class RejectionReason(models.Model):
    """Why a rep may reject a lead, and where such a lead goes by default."""

    version = models.ForeignKey(ULDVersion, on_delete=models.CASCADE, related_name="rejection_reasons")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    route = models.CharField(max_length=20, choices=RejectionRoute.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="uld_rejection_code_unique"),
            models.CheckConstraint(condition=models.Q(route__in=RejectionRoute.values), name="uld_rejection_route"),
        ]

    def __str__(self) -> str:
        return self.label


class RoutingDecision(models.Model):
    """Where a newly qualified lead should go. Queue and nurture act on pending decisions."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="routing_decisions")
    uld_version = models.ForeignKey(ULDVersion, on_delete=models.PROTECT, related_name="+")
    grade = models.CharField(max_length=1)
    route = models.CharField(max_length=60)
    decided_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["status", "decided_at"], name="routing_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["pending", "done", "cancelled"]), name="routing_st"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} → {self.route}"
