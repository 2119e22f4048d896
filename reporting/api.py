"""API: funnel metrics, from the same selectors and filters as the dashboard, scoped the same way."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.permissions import TokenHasScope
from leads.models import SourceChannel
from reporting.filters import PERIODS, ReportFilterForm, report_scope
from reporting.selectors import funnel_report


class FunnelQuerySerializer(serializers.Serializer):
    """The dashboard's filters (documentation of the query string; ReportFilterForm validates it)."""

    period = serializers.ChoiceField(choices=PERIODS, required=False, default="this_month")
    start = serializers.DateField(required=False, help_text="With period=custom.")
    end = serializers.DateField(required=False, help_text="With period=custom (inclusive).")
    source = serializers.ChoiceField(choices=SourceChannel.choices, required=False)
    campaign = serializers.IntegerField(required=False, help_text="Campaign id; 0 = no campaign.")
    team = serializers.IntegerField(required=False)
    rep = serializers.IntegerField(required=False, help_text="Owner id; 0 = unassigned.")
    uld = serializers.IntegerField(required=False, help_text="ULD version id; 0 = never qualified under one.")


class StageCountSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class RatioSerializer(serializers.Serializer):
    label = serializers.CharField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    ratio = serializers.FloatField(allow_null=True)


class VelocitySerializer(serializers.Serializer):
    label = serializers.CharField()
    median_days = serializers.FloatField(allow_null=True)
    leads = serializers.IntegerField()


class MoneySerializer(serializers.Serializer):
    pipeline = serializers.DecimalField(max_digits=20, decimal_places=2)
    revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    marketing_pipeline = serializers.DecimalField(max_digits=20, decimal_places=2)
    marketing_revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    won_deals = serializers.IntegerField()


class SourceShareSerializer(serializers.Serializer):
    source = serializers.CharField()
    leads = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class FunnelSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    period = serializers.CharField()
    flow = StageCountSerializer(many=True, help_text="Entries into each stage within the period.")
    cohort = StageCountSerializer(many=True, help_text="Leads created in the period that reached each stage.")
    conversions = RatioSerializer(many=True)
    velocity = VelocitySerializer(many=True)
    money = MoneySerializer()
    source_mix = SourceShareSerializer(many=True)


class FunnelMetricsView(APIView):
    permission_classes = [IsAuthenticated, TokenHasScope]
    required_scopes = {"reports:read"}

    @extend_schema(
        summary="Funnel metrics (the dashboard's numbers)",
        parameters=[FunnelQuerySerializer],
        responses={200: FunnelSerializer},
    )
    def get(self, request):
        scope = report_scope(request.user)
        if scope is None:
            raise PermissionDenied("Your role has no reports.")
        data = request.query_params.copy()
        data.setdefault("period", "this_month")
        form = ReportFilterForm(data, scope=scope)
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        filters = form.filters()
        report = funnel_report(filters=filters, scope=scope)
        payload = {
            "start": filters.start,
            "end": filters.end,
            "period": filters.period,
            "flow": report.flow,
            "cohort": report.cohort,
            "conversions": report.conversions,
            "velocity": report.velocity,
            "money": report.money,
            "source_mix": [{"source": s, "leads": n, "share": share} for s, n, share in report.source_mix],
        }
        return Response(FunnelSerializer(payload).data)
