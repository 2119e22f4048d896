"""Scoring rules (bound to a ULD version), score history, dirty marks and re-score run records."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    ONE_OF = "one_of", "is one of"
    CONTAINS = "contains", "contains"
    STARTS_WITH = "starts_with", "starts with"
    RANGE = "range", "is in the range"
    IS_SET = "is_set", "is set"
    EMAIL_DOMAIN_IN = "email_domain_in", "has an email domain in"


class PayloadOperator(models.TextChoices):
    EQUALS = "equals", "equals"
    CONTAINS = "contains", "contains"


class FitRule(models.Model):
    """Points for who the lead is: a test on one lead field."""

    uld_version = models.ForeignKey("leads.ULDVersion", on_delete=models.CASCADE, related_name="fit_rules")
    label = models.CharField(max_length=200)
    field = models.CharField(max_length=40)
    operator = models.CharField(max_length=20, choices=Operator.choices)
    # A string, a number, a list (one of / email domain in), {"min": .., "max": ..} (range) or null (is set).
    value = models.JSONField(null=True, blank=True)
    points = models.IntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(operator__in=Operator.values), name="fit_rule_operator"),
        ]

    def __str__(self) -> str:
        return self.label


class EngagementRule(models.Model):
    """Points for what the lead did: each matching activity scores, fading with age, up to a cap."""

    uld_version = models.ForeignKey("leads.ULDVersion", on_delete=models.CASCADE, related_name="engagement_rules")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    # Optional condition on the activity payload: payload[payload_key] <payload_operator> payload_value.
    payload_key = models.CharField(max_length=60, blank=True)
    payload_operator = models.CharField(max_length=10, choices=PayloadOperator.choices, blank=True)
    payload_value = models.CharField(max_length=200, blank=True)
    points = models.IntegerField(help_text="Points per occurrence.")
    cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most points (in absolute value) from this rule."
    )
    half_life_days = models.IntegerField(null=True, blank=True, help_text="Points halve every this many days.")
    expires_after_days = models.IntegerField(null=True, blank=True, help_text="Occurrences older than this count 0.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(half_life_days__isnull=True) | models.Q(half_life_days__gt=0),
                name="engagement_half_life_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_after_days__isnull=True) | models.Q(expires_after_days__gt=0),
                name="engagement_expiry_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(payload_key="") | ~models.Q(payload_operator=""),
                name="engagement_condition_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class ScoreHistory(models.Model):
    """A grade change, or a larger score move, of one lead (the trend on the lead page)."""

    # Indexed by score_history_lead, which leads with it.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="score_history", db_index=False)
    uld_version = models.ForeignKey("leads.ULDVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    score = models.IntegerField()
    grade = models.CharField(max_length=1)
    fit = models.IntegerField()
    engagement = models.IntegerField()
    previous_score = models.IntegerField()
    previous_grade = models.CharField(max_length=1, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "score history"
        indexes = [models.Index(fields=["lead", "at"], name="score_history_lead")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.previous_score}→{self.score}"


class ScoreDirty(models.Model):
    """A mark that a lead has activity (or an edit) not yet scored.

    Filled by a database trigger on activity inserts, so every writer (forms, imports, the API, nurture,
    bulk loads) marks leads without remembering to. The import skips it for the new leads it scores in the
    same transaction (scoring.services.dirty_marks_skip).

    Append-only: a writer always inserts a mark of its own, never "if none exists" (a unique lead with
    ON CONFLICT DO NOTHING, as before), and the scorer deletes only the marks its statement can see. A mark
    whose transaction has not committed is invisible to the scorer, so it survives and the lead is scored
    again next run. With one mark per lead, a writer whose insert found a committed mark added none, the
    scorer deleted that mark and scored without the writer's uncommitted activity, and the activity was
    then left unscored until the nightly re-score. So a lead may have several marks.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")  # the scorer's lookup
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"lead {self.lead_id} to re-score"


class RescoreRun(models.Model):
    """A background re-score of every lead, in chunks of primary-key ranges."""

    class Reason(models.TextChoices):
        PUBLISH = "publish", "New version agreed"
        NIGHTLY = "nightly", "Nightly decay"
        MANUAL = "manual", "Started by hand"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        SUPERSEDED = "superseded", "Superseded by a newer version"

    uld_version = models.ForeignKey("leads.ULDVersion", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    # Every chunk scores "as of" this instant, so the run is one consistent picture.
    as_of = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    leads_changed = models.PositiveIntegerField(default=0)
    leads_qualified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(chunks_done__lte=models.F("chunks_total")), name="run_chunks"),
        ]

    def __str__(self) -> str:
        return f"Re-score {self.pk} ({self.get_reason_display()})"


class RescoreChunk(models.Model):
    """One primary-key range of a run; `done_at` is its idempotency claim."""

    run = models.ForeignKey(RescoreRun, on_delete=models.CASCADE, related_name="chunks")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    changed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["first_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "first_id"], name="rescore_chunk_once"),
            models.CheckConstraint(condition=models.Q(last_id__gte=models.F("first_id")), name="rescore_chunk_range"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.first_id}–{self.last_id} of run {self.run_id}"
