from __future__ import annotations

from django.contrib import admin

from nurture.models import Delivery, Enrolment, Step, Suppression, Track


class StepInline(admin.TabularInline):
    model = Step
    extra = 0


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "owner", "is_default_return", "on_complete")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    inlines = [StepInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("lead", "track", "status", "source", "next_step", "next_due_at", "exit_reason")
    list_filter = ("status", "exit_reason", "track")
    raw_id_fields = ("lead", "enrolled_by", "next_step")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("lead", "step", "channel", "status", "created_at", "done_at")
    list_filter = ("status", "channel")
    raw_id_fields = ("lead", "enrolment", "step", "assignee")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("lead", "reason", "at")
    raw_id_fields = ("lead",)
