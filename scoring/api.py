"""API: the explanation of one lead's score (the same one the lead page shows)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.permissions import IsLeadReader, TokenHasScope
from leads.api.views.common import READ, visible_lead
from scoring.selectors import lead_score_explain


class ContributionSerializer(serializers.Serializer):
    kind = serializers.CharField()
    rule_id = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    points = serializers.IntegerField()
    why = serializers.CharField()


class ScoreHistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    score = serializers.IntegerField()
    grade = serializers.CharField()


class ScoreExplanationSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    uld_version = serializers.IntegerField(help_text="Number of the definition the score is computed under.")
    score = serializers.IntegerField(help_text="The score now, under the active definition.")
    grade = serializers.CharField()
    fit = serializers.IntegerField()
    engagement = serializers.IntegerField()
    stored_score = serializers.IntegerField(help_text="The score stored on the lead (may lag by a minute).")
    stored_grade = serializers.CharField(allow_blank=True)
    is_current = serializers.BooleanField()
    contributions = ContributionSerializer(many=True)
    history = ScoreHistorySerializer(many=True)
    sales_ready_gaps = serializers.ListField(child=serializers.CharField())
    as_of = serializers.DateTimeField()


class LeadScoreView(APIView):
    permission_classes = [IsAuthenticated, TokenHasScope, IsLeadReader]
    required_scopes = READ

    @extend_schema(
        summary="Why a lead has its score: each rule's points",
        responses={200: ScoreExplanationSerializer, 404: OpenApiResponse(description="No such lead, or no ULD.")},
    )
    def get(self, request, pk: int):
        lead = visible_lead(request, pk)
        explanation = lead_score_explain(lead=lead)
        if explanation is None:
            raise NotFound("No version of the lead definition is agreed yet, so leads are not scored.")
        result = explanation.result
        data = {
            "lead": lead.pk,
            "uld_version": explanation.version.number,
            "score": result.total,
            "grade": result.grade,
            "fit": result.fit,
            "engagement": result.engagement,
            "stored_score": explanation.stored_score,
            "stored_grade": explanation.stored_grade,
            "is_current": explanation.is_current,
            "contributions": [asdict(c) for c in result.contributions],
            "history": explanation.history,
            "sales_ready_gaps": explanation.sales_ready_gaps,
            "as_of": explanation.as_of,
        }
        return Response(ScoreExplanationSerializer(data).data)
