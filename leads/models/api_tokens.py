"""API tokens: personal (a user's own scripts) and integration (a system acting with scopes).

Only a prefix (for lookup) and a hash of the secret are stored; the token itself is shown once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class APITokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    INTEGRATION = "integration", "Integration"


class APIScope(models.TextChoices):
    LEADS_READ = "leads:read", "Read leads, activities, campaigns and the lead definition"
    LEADS_WRITE = "leads:write", "Create and update leads, stage actions"
    EVENTS_WRITE = "events:write", "Send activity events"
    IMPORTS_WRITE = "imports:write", "Upload lists and read their status"
    REPORTS_READ = "reports:read", "Read funnel metrics"
    NURTURE_WRITE = "nurture:write", "Enrol leads in nurture"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage outbound webhooks"


# A personal token may carry "*": every scope, limited by what the user's role allows.
ALL_SCOPES = "*"


class APIToken(models.Model):
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=APITokenKind.choices, default=APITokenKind.PERSONAL)
    # The token acts with this user's role and visibility.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Public part of the token, used to find the row; the secret is checked against `secret_hash`.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Updated at most once a minute (see leads.services.api_tokens), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=APITokenKind.values), name="api_token_kind_known"),
            models.CheckConstraint(condition=~models.Q(name=""), name="api_token_named"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scopes(self, required: set[str]) -> bool:
        held = set(self.scopes)
        return ALL_SCOPES in held or required <= held
