"""Imports of lead lists: the job (a resumable state machine with counts), its rejected rows, the
per-lead change records that make a batch undoable, and saved column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Being set up"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    UNDONE = "undone", "Undone"


# Where a job may go from each status; the service checks every move against this.
IMPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ImportStatus.DRAFT: frozenset({ImportStatus.QUEUED}),
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.CANCELLED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED}),
    ImportStatus.DONE: frozenset({ImportStatus.UNDONE}),
    ImportStatus.FAILED: frozenset({ImportStatus.UNDONE}),
    ImportStatus.CANCELLED: frozenset({ImportStatus.UNDONE}),
    ImportStatus.UNDONE: frozenset(),
}
ACTIVE_STATUSES = frozenset({ImportStatus.QUEUED, ImportStatus.RUNNING})
FINISHED_STATUSES = frozenset({ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED})


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", "Skip: leave existing leads as they are"
    FILL = "fill", "Fill empty fields only"
    OVERWRITE = "overwrite", "Overwrite with the file's values"


class ImportJob(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    campaign = models.ForeignKey("leads.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Who produced the file ("Cvent", "booth app"): presets are offered per source.
    source = models.CharField(max_length=100, blank=True)
    original_name = models.CharField(max_length=255)
    # A generated name under MEDIA_ROOT/imports/; the upload's own name never reaches the filesystem.
    stored_name = models.CharField(max_length=100, unique=True)
    size_bytes = models.BigIntegerField()
    # How to read it: detected, then possibly overridden by the user.
    kind = models.CharField(max_length=10)
    encoding = models.CharField(max_length=20, blank=True)
    bom_length = models.PositiveSmallIntegerField(default=0)
    delimiter = models.CharField(max_length=2, blank=True)
    sheet = models.CharField(max_length=200, blank=True)
    sheets = models.JSONField(default=list, blank=True)
    encoding_detected_by = models.CharField(max_length=30, blank=True)
    header_line = models.PositiveIntegerField(default=1)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # column index (str) → target in leads.imports.mapping.TARGETS
    keep_extra = models.BooleanField(default=True)
    duplicate_policy = models.CharField(max_length=10, choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.DRAFT)
    # The checkpoint: every data row up to `last_line` is committed, and counted below.
    last_line = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)  # matched an existing lead, nothing changed
    duplicate_count = models.PositiveIntegerField(default=0)  # repeated an email earlier in the file
    error_count = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(null=True, blank=True)  # data rows, once known
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)  # why it failed, in words for the user
    undo_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Running: the last chunk's commit (the resume sweep restarts a silent run). Queued: when the broker took
    # its message; None until then, so the sweep hands over what a down or frozen broker did not take.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ImportStatus.values), name="import_status_known"),
            models.CheckConstraint(
                condition=models.Q(duplicate_policy__in=DuplicatePolicy.values), name="import_policy_known"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["text", "xlsx"]), name="import_kind_known"),
            # Every committed row is counted exactly once.
            models.CheckConstraint(
                condition=models.Q(
                    rows_done=models.F("created_count")
                    + models.F("updated_count")
                    + models.F("skipped_count")
                    + models.F("duplicate_count")
                    + models.F("error_count")
                ),
                name="import_counts_add_up",
            ),
            models.CheckConstraint(condition=models.Q(size_bytes__gte=0), name="import_size_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="import_status_heartbeat")]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.original_name}"

    def get_absolute_url(self) -> str:
        if self.status == ImportStatus.DRAFT:
            return reverse("imports:configure", args=[self.pk])
        return reverse("imports:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(100 * self.rows_done / self.total_rows))


class ImportRowError(models.Model):
    """A row the import rejected, with why and its cells as read (for the error file)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField()
    reason = models.TextField()
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["job", "line"]
        constraints = [models.UniqueConstraint(fields=["job", "line"], name="import_row_error_once")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportChangeAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    MATCHED = "matched", "Matched, unchanged"


class ImportChange(models.Model):
    """What one import did to one lead: enough to list the batch and to undo it."""

    # Indexed by import_change_once_per_lead and import_change_lead, which lead with them.
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes", db_index=False)
    lead = models.ForeignKey("leads.Lead", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    action = models.CharField(max_length=10, choices=ImportChangeAction.choices)
    line = models.PositiveIntegerField()
    before = models.JSONField(default=dict, blank=True)  # fields the import changed, as they were
    after = models.JSONField(default=dict, blank=True)  # the same fields as the import wrote them

    class Meta:
        ordering = ["job", "line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "lead"], name="import_change_once_per_lead"),
            models.CheckConstraint(
                condition=models.Q(action__in=ImportChangeAction.values), name="import_action_known"
            ),
        ]
        indexes = [models.Index(fields=["lead"], name="import_change_lead")]

    def __str__(self) -> str:
        return f"{self.action} lead {self.lead_id} (line {self.line})"


class MappingPreset(models.Model):
    """A saved column mapping, offered again for a file from the same source with the same headers."""

    name = models.CharField(max_length=100)
    source = models.CharField(max_length=100, blank=True)
    signature = models.CharField(max_length=32)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    keep_extra = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "name"], name="mapping_preset_name_per_source")]
        indexes = [models.Index(fields=["signature", "-created_at"], name="mapping_preset_signature")]

    def __str__(self) -> str:
        return f"{self.name} ({self.source})" if self.source else self.name
