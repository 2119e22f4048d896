"""Leads: the read shape, and the writes each role may make."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.lifecycle import Stage
from leads.models import Campaign, Lead
from leads.models.lead import Grade
from leads.roles import Role, has_role, is_admin
from leads.services.lead_edit import EDITABLE_FIELDS

# Fields a write may never set, with what to do instead (named in the 400, never silently ignored).
REFUSED_FIELDS = {
    "stage": "The stage changes only through the stage actions (accept, reject, qualify, convert, won, lost).",
    "score": "Scores are computed from the lead definition; they cannot be set.",
    "grade": "Grades are computed from the lead definition; they cannot be set.",
    "score_fit": "Scores are computed from the lead definition; they cannot be set.",
    "score_engagement": "Scores are computed from the lead definition; they cannot be set.",
}
OWNER_REFUSED = "Only a sales manager (within their team) or an admin assigns leads."
# Text facts are stored exactly as sent, leading and trailing whitespace included, as an import stores
# them: DRF's CharField would otherwise strip() them, Unicode spaces and separators too. Phone and website
# (and email, normalised by the services) are trimmed, here by DRF and in an import by the cleaner.
TEXT_KEPT_AS_SENT = (
    "first_name",
    "last_name",
    "title",
    "company_name",
    "company_domain",
    "industry",
    "country",
    "region",
    "need",
)


class LeadSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()
    campaign_name = serializers.CharField(source="campaign.name", read_only=True, default=None, allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    grade = serializers.ChoiceField(choices=Grade.choices, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "company_name",
            "website",
            "company_domain",
            "employees",
            "size_band",
            "industry",
            "country",
            "region",
            "budget",
            "authority",
            "need",
            "timeframe",
            "source_channel",
            "campaign",
            "campaign_name",
            "owner",
            "owner_name",
            "stage",
            "stage_entered_at",
            "score",
            "grade",
            "score_fit",
            "score_engagement",
            "scored_at",
            "created_at",
            "updated_at",
            "last_touch_at",
            "next_follow_up_at",
            "sales_touches",
            "assigned_at",
            "first_touch_due_at",
            "first_touch_at",
            "deal_amount",
            "expected_close_on",
        ]
        # Not read_only_fields: that drops allow_blank, and the schema would then refuse "" for blank choices.

    @extend_schema_field(OpenApiTypes.STR)
    def get_owner_name(self, lead: Lead) -> str | None:
        if lead.owner is None:
            return None
        return lead.owner.get_full_name() or lead.owner.get_username()


class LeadWriteSerializer(serializers.ModelSerializer):
    """The facts of a lead. Unknown or refused fields are errors naming the field."""

    # Declared (not derived from the model) so a duplicate email is the service's 409, not a 400.
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, max_length=254)
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    employees = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Lead
        fields = sorted(EDITABLE_FIELDS)
        extra_kwargs = {name: {"trim_whitespace": False} for name in TEXT_KEPT_AS_SENT}

    def validate(self, data):
        data = super().validate(data)
        raw = self.initial_data if isinstance(self.initial_data, dict) else {}
        errors = {}
        allowed = set(self.fields) | self.extra_allowed()
        for name in raw:
            if name in allowed:
                continue
            if name in REFUSED_FIELDS:
                errors[name] = [REFUSED_FIELDS[name]]
            elif name == "owner":
                errors[name] = [OWNER_REFUSED]
            else:
                errors[name] = ["There is no such writable field."]
        if errors:
            raise serializers.ValidationError(errors)
        if data.get("email") == "":
            data["email"] = None
        return data

    def extra_allowed(self) -> set[str]:
        return set()


class LeadCreateSerializer(LeadWriteSerializer):
    source_channel = serializers.ChoiceField(choices=Lead._meta.get_field("source_channel").choices, required=False)

    class Meta(LeadWriteSerializer.Meta):
        fields = [*sorted(EDITABLE_FIELDS), "source_channel"]

    def validate(self, data):
        data = super().validate(data)
        if not data.get("email") and not (data.get("phone") or "").strip():
            raise serializers.ValidationError({"email": ["A lead needs an email address or a phone number."]})
        return data


class LeadUpdateSerializer(LeadWriteSerializer):
    """PATCH: a manager or an admin may also give the lead to a rep (through the assignment service)."""

    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, help_text="Managers and admins."
    )

    class Meta(LeadWriteSerializer.Meta):
        fields = [*sorted(EDITABLE_FIELDS), "owner"]

    def validate(self, data):
        user = self.context["request"].user
        raw = self.initial_data if isinstance(self.initial_data, dict) else {}
        if "owner" in raw and not (is_admin(user) or has_role(user, Role.SALES_MANAGER)):
            raise serializers.ValidationError({"owner": [OWNER_REFUSED]})
        return super().validate(data)
