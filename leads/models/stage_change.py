from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.lifecycle import Stage

from .guard import AppendOnlyViolation


class StageChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation("The stage-change log is append-only.")


class StageChange(models.Model):
    """One move of a lead between lifecycle stages. Reporting reads this log; it is append-only."""

    # Indexed by stage_change_lead, which leads with it.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="stage_changes", db_index=False)
    # Empty for the lead's creation (it enters as an inquiry or at the stage it was imported at).
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The lead's owner right after the change: reports by rep count what each rep held.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    # The ULD version that qualified the lead, on moves made by the definition (into MQL).
    uld_version = models.ForeignKey(
        "leads.ULDVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = StageChangeQuerySet.as_manager()

    class Meta:
        ordering = ["changed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(from_stage=models.F("to_stage")), name="stage_change_moves"),
            models.CheckConstraint(condition=models.Q(to_stage__in=Stage.values), name="stage_change_to_known"),
        ]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="stage_change_lead"),
            models.Index(fields=["to_stage", "changed_at"], name="stage_change_flow"),
            # Reporting recomputes one day of the log at a time, across every stage.
            models.Index(fields=["changed_at"], name="stage_change_at"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyViolation("The stage-change log is append-only.")
        super().save(*args, **kwargs)
