"""Rollups the dashboard reads, kept by `reporting.services.rollups` from the stage log, and saved reviews.

Rollup dimensions store 0 for "none" (no campaign, unassigned) instead of NULL, so one unique constraint
holds on every database (NULLs are distinct in a plain unique index) and a recompute can never double a row.
Campaign and owner ids are plain integers, not foreign keys: a rollup row outlives a deleted campaign or user
until its day is recomputed, and writes to leads never wait on rollup locks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.lifecycle import Stage

# The filterable dimensions every rollup row carries.
DIMENSIONS = ["source_channel", "campaign_id", "owner_id", "uld_version_id"]


class LeadFunnelFact(models.Model):
    """One lead's path through the funnel, derived from its stage log and sales-touch activities.

    The per-lead rollup: velocity medians and the alignment report read it; the daily cohort rollup is
    summed from it.
    """

    # No database constraint and no cascade: when a lead is deleted its fact stays until the refresh,
    # which needs it to know which cohort day to recompute (deleting a lead must mark it dirty).
    lead = models.OneToOneField(
        "leads.Lead", primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField()
    source_channel = models.CharField(max_length=20)
    campaign_id = models.IntegerField(default=0)
    # The owner after the lead's latest logged change (0: unassigned).
    owner_id = models.IntegerField(default=0)
    # The ULD version that qualified the lead as an MQL (0: never qualified under a version).
    uld_version_id = models.IntegerField(default=0)
    current_stage = models.CharField(max_length=20, choices=Stage.choices)
    # Highest funnel stage ever entered: 0 inquiry ... 5 won. A lead that skips a stage has passed it.
    max_rank = models.PositiveSmallIntegerField(default=0)
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    # First entry into each funnel stage.
    mql_at = models.DateTimeField(null=True)
    sal_at = models.DateTimeField(null=True)
    sql_at = models.DateTimeField(null=True)
    opportunity_at = models.DateTimeField(null=True)
    won_at = models.DateTimeField(null=True)
    # Seconds from the latest entry into a stage to the first entry into the next (velocity).
    inquiry_mql_s = models.BigIntegerField(null=True)
    mql_sal_s = models.BigIntegerField(null=True)
    sal_sql_s = models.BigIntegerField(null=True)
    sql_opportunity_s = models.BigIntegerField(null=True)
    opportunity_won_s = models.BigIntegerField(null=True)
    # Alignment: when an owner was first set (in the log) and the first sales touch at or after it.
    assigned_at = models.DateTimeField(null=True)
    first_touch_at = models.DateTimeField(null=True)
    first_touch_s = models.BigIntegerField(null=True)
    has_sales_touch = models.BooleanField(default=False)
    # Won, or lost at its latest loss (a lead lost then won counts as won).
    closed_at = models.DateTimeField(null=True)
    is_won = models.BooleanField(default=False)

    class Meta:
        # Each stage's index carries what the velocity, money and alignment reads need (PostgreSQL
        # INCLUDE), so a quarter's medians are index-only scans instead of tens of thousands of heap reads.
        indexes = [
            models.Index(fields=["created_at"], name="fact_created"),
            models.Index(fields=["mql_at"], include=["inquiry_mql_s", *DIMENSIONS], name="fact_mql"),
            models.Index(fields=["sal_at"], include=["mql_sal_s", *DIMENSIONS], name="fact_sal"),
            models.Index(fields=["sql_at"], include=["sal_sql_s", *DIMENSIONS], name="fact_sql"),
            models.Index(
                fields=["opportunity_at"],
                include=["sql_opportunity_s", "deal_amount", *DIMENSIONS],
                name="fact_opportunity",
            ),
            models.Index(fields=["won_at"], include=["opportunity_won_s", "deal_amount", *DIMENSIONS], name="fact_won"),
            models.Index(
                fields=["assigned_at"],
                include=["has_sales_touch", "first_touch_s", *DIMENSIONS],
                name="fact_assigned",
            ),
            models.Index(fields=["closed_at"], include=["is_won", *DIMENSIONS], name="fact_closed"),
        ]

    def __str__(self) -> str:
        return f"funnel fact for lead {self.lead_id}"


class FunnelDailyFlow(models.Model):
    """Entries into each stage per day (from the stage log), by source, campaign, owner after the change, ULD version.

    Holds no amounts: a deal amount changes after the entry (on the win), which would make every past
    day of the lead stale. Pipeline and revenue are summed from the per-lead facts instead.
    """

    day = models.DateField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    source_channel = models.CharField(max_length=20)
    campaign_id = models.IntegerField(default=0)
    owner_id = models.IntegerField(default=0)
    uld_version_id = models.IntegerField(default=0)
    entries = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "stage", *DIMENSIONS], name="flow_one_row_per_key"),
            models.CheckConstraint(condition=models.Q(entries__gt=0), name="flow_entries_positive"),
        ]
        # Covering (PostgreSQL INCLUDE): a period's rows are read from the index alone.
        indexes = [
            models.Index(
                fields=["day"],
                include=["stage", *DIMENSIONS, "entries"],
                name="flow_day_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.stage}: {self.entries}"


class FunnelDailyCohort(models.Model):
    """Leads created each day and how far they have got so far, by source, campaign and current owner."""

    day = models.DateField()
    source_channel = models.CharField(max_length=20)
    campaign_id = models.IntegerField(default=0)
    owner_id = models.IntegerField(default=0)
    uld_version_id = models.IntegerField(default=0)
    leads = models.PositiveIntegerField()
    reached_mql = models.PositiveIntegerField(default=0)
    reached_sal = models.PositiveIntegerField(default=0)
    reached_sql = models.PositiveIntegerField(default=0)
    reached_opportunity = models.PositiveIntegerField(default=0)
    reached_won = models.PositiveIntegerField(default=0)
    pipeline_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    won_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # What these leads are now: the pipeline the revenue-gap calculator compares with.
    open_inquiry = models.PositiveIntegerField(default=0)
    open_mql = models.PositiveIntegerField(default=0)
    open_sal = models.PositiveIntegerField(default=0)
    open_sql = models.PositiveIntegerField(default=0)
    open_opportunity = models.PositiveIntegerField(default=0)
    open_opportunity_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", *DIMENSIONS], name="cohort_one_row_per_key"),
            models.CheckConstraint(condition=models.Q(leads__gt=0), name="cohort_leads_positive"),
            models.CheckConstraint(
                condition=models.Q(reached_mql__lte=models.F("leads"))
                & models.Q(reached_sal__lte=models.F("reached_mql"))
                & models.Q(reached_sql__lte=models.F("reached_sal"))
                & models.Q(reached_opportunity__lte=models.F("reached_sql"))
                & models.Q(reached_won__lte=models.F("reached_opportunity")),
                name="cohort_funnel_narrows",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="cohort_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} leads"


class RollupDirtyLead(models.Model):
    """A lead whose rollups must be recomputed (written by `rollups_mark_dirty`, consumed by the refresh)."""

    lead_id = models.BigIntegerField(unique=True)
    # Its source or campaign changed, or it was deleted: every day in its log is stale, not only new ones.
    all_days = models.BooleanField(default=False)
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"dirty lead {self.lead_id}"


class RollupDirtyDay(models.Model):
    """A day whose flow and cohort rollups must be recomputed."""

    day = models.DateField(unique=True)
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"dirty day {self.day}"


class RollupState(models.Model):
    """The single row the refresh locks (one refresh at a time) and its catch-up watermarks."""

    singleton = models.BooleanField(default=True, unique=True)
    stage_change_watermark = models.BigIntegerField(default=0)
    activity_watermark = models.BigIntegerField(default=0)
    # Ids below the watermark not yet seen: a transaction that took them may still commit (see services).
    stage_change_gaps = models.JSONField(default=list)
    activity_gaps = models.JSONField(default=list)
    last_run_at = models.DateTimeField(null=True)
    last_run_leads = models.PositiveIntegerField(default=0)
    last_run_days = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="rollup_state_single")]

    def __str__(self) -> str:
        return f"rollups refreshed {self.last_run_at}"


class ReviewSnapshot(models.Model):
    """A monthly lead-quality review as it was saved, so it reopens unchanged."""

    month = models.DateField(unique=True, help_text="The first day of the reviewed month.")
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"review {self.month:%Y-%m}"
