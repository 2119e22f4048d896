"""Input of the stage actions. Each may carry `expected_stage`: the stage the caller saw (409 if it moved)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from leads.lifecycle import Stage
from leads.models.lead import Authority, Timeframe


class StageActionSerializer(serializers.Serializer):
    expected_stage = serializers.ChoiceField(
        choices=Stage.choices, required=False, help_text="The stage you saw; refused with 409 if it changed since."
    )


class RejectSerializer(StageActionSerializer):
    reason = serializers.CharField(max_length=50, help_text="A rejection reason code of the active definition.")
    comment = serializers.CharField(max_length=2000)
    referral_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    # No default="": the schema would give a `format: email` field a default that is not an email.
    referral_email = serializers.EmailField(required=False, allow_blank=True)
    referral_title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    duplicate_of = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)


class ChecklistSerializer(serializers.Serializer):
    budget = serializers.BooleanField(default=False)
    authority = serializers.BooleanField(default=False)
    need = serializers.BooleanField(default=False)
    timeframe = serializers.BooleanField(default=False)


class QualifySerializer(StageActionSerializer):
    checklist = ChecklistSerializer(help_text="BANT: every item must be true to qualify.")
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    authority = serializers.ChoiceField(choices=Authority.choices, required=False, default="")
    need = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    timeframe = serializers.ChoiceField(choices=Timeframe.choices, required=False, default="")


class ConvertSerializer(StageActionSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    expected_close_on = serializers.DateField()


class WonSerializer(StageActionSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class LostSerializer(StageActionSerializer):
    reason = serializers.CharField(max_length=2000)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
