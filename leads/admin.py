from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from leads.models import (
    Activity,
    APIToken,
    AssignmentLog,
    AssignmentRule,
    Campaign,
    Event,
    Heartbeat,
    Lead,
    Profile,
    Reminder,
    StageChange,
    Team,
    WebhookDelivery,
)


class ProfileInline(admin.StackedInline):
    model = Profile
    fk_name = "user"
    can_delete = False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_superuser")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "workday_start", "workday_end", "workdays")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "starts_on", "ends_on", "cost", "owner")
    list_filter = ("kind",)
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only logs: viewable, never edited from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    # Stage and score are read-only here: only the lifecycle and scoring services write them.
    list_display = ("id", "email", "company_name", "stage", "grade", "score", "owner", "campaign")
    list_filter = ("stage", "grade", "source_channel")
    search_fields = ("email", "last_name", "company_name")
    raw_id_fields = ("owner", "campaign")
    readonly_fields = ("stage", "stage_entered_at", "score", "grade", "sales_touches", "nurture_touches", "created_at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("lead", "kind", "occurred_at", "source")
    raw_id_fields = ("lead", "recorded_by")
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdmin):
    list_display = ("lead", "from_stage", "to_stage", "changed_at", "changed_by")
    raw_id_fields = ("lead", "changed_by", "owner")
    show_full_result_count = False


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_seen")


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    # Where assignment sends leads: edited by admins; the lowest position that matches wins.
    list_display = ("position", "field", "values", "team", "is_active")
    list_editable = ("is_active",)
    list_filter = ("team", "field")


@admin.register(AssignmentLog)
class AssignmentLogAdmin(ReadOnlyAdmin):
    list_display = ("lead", "from_owner", "to_owner", "kind", "by", "at")
    list_filter = ("kind",)
    raw_id_fields = ("lead", "from_owner", "to_owner", "by")
    show_full_result_count = False


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("lead", "kind", "due_at", "recipient", "created_at", "emailed_at")
    list_filter = ("kind",)
    raw_id_fields = ("lead", "recipient")
    show_full_result_count = False


@admin.register(APIToken)
class APITokenAdmin(ReadOnlyAdmin):
    # Issued and revoked on the API tokens page (the secret exists only there, once); listed here.
    list_display = ("name", "kind", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "created_by")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: events are written by the API and the processing task only."""

    list_display = ("key", "type", "email", "lead", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "type")
    search_fields = ("key", "email", "uuid")
    raw_id_fields = ("lead", "activity", "submitted_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: the pages under Integrations → Webhooks manage endpoints and retries."""

    list_display = ("uuid", "endpoint", "kind", "status", "attempts", "response_code", "next_attempt_at", "created_at")
    list_filter = ("status", "kind", "endpoint")
    raw_id_fields = ("lead", "stage_change")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
