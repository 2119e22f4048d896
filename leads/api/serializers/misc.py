"""Activities, campaigns and the lead definition (ULD), as the API shows them."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Activity, Campaign, RejectionReason, ULDSignOff, ULDVersion
from leads.services.queue import TOUCH_KINDS, TOUCH_OUTCOMES


class ActivitySerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = ["id", "lead", "kind", "occurred_at", "recorded_by", "source", "payload", "created_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_recorded_by(self, activity: Activity) -> str | None:
        user = activity.recorded_by
        return None if user is None else user.get_username()


class TouchSerializer(serializers.Serializer):
    """A sales touch: how you reached out and what happened; the next follow-up follows the cadence."""

    channel = serializers.ChoiceField(choices=sorted(TOUCH_KINDS))
    outcome = serializers.ChoiceField(choices=sorted(TOUCH_OUTCOMES))
    notes = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    at = serializers.DateTimeField(required=False, allow_null=True, help_text="When it happened; default now.")
    next_follow_up_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_at(self, value: dt.datetime | None):
        if value is not None and value.year < 2000:
            raise serializers.ValidationError("That date is too far in the past.")
        return value


class CampaignSerializer(serializers.ModelSerializer):
    lead_count = serializers.IntegerField(read_only=True)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, allow_null=True, help_text="Null for sales reps."
    )

    class Meta:
        model = Campaign
        fields = ["id", "name", "kind", "starts_on", "ends_on", "cost", "lead_count", "created_at"]
        read_only_fields = fields

    def to_representation(self, campaign):
        data = super().to_representation(campaign)
        # As on the dashboard (reporting.filters.report_scope): reps do not see what campaigns cost.
        if not self.context.get("sees_costs", False):
            data["cost"] = None
        return data


class RejectionReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectionReason
        fields = ["code", "label", "route"]


class SignOffSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = ULDSignOff
        fields = ["user", "role", "signed_at"]


class ULDVersionSerializer(serializers.ModelSerializer):
    based_on = serializers.IntegerField(source="based_on.number", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ULDVersion
        fields = [
            "id",
            "number",
            "status",
            "based_on",
            "summary",
            "created_at",
            "proposed_at",
            "agreed_at",
            "retired_at",
        ]
        read_only_fields = fields


class ULDVersionDetailSerializer(ULDVersionSerializer):
    rejection_reasons = RejectionReasonSerializer(many=True, read_only=True)
    sign_offs = SignOffSerializer(many=True, read_only=True)

    class Meta(ULDVersionSerializer.Meta):
        fields = [
            *ULDVersionSerializer.Meta.fields,
            "grade_a_min",
            "grade_b_min",
            "grade_c_min",
            "sales_ready_min_grade",
            "required_facts",
            "icp_must_haves",
            "routes",
            "first_touch_business_hours",
            "follow_up_cadence_days",
            "min_touches_before_no_response",
            "rejection_reasons",
            "sign_offs",
        ]
        read_only_fields = fields
