"""Stage actions on one lead: accept, reject (with a reason), qualify, convert, won, lost.

Each calls one queue service; `expected_stage` (the stage the caller saw) makes a concurrent change a 409.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.permissions import IsLeadReader, IsSalesForWrites, TokenHasScope
from leads.api.serializers.leads import LeadSerializer
from leads.api.serializers.stage import (
    ConvertSerializer,
    LostSerializer,
    QualifySerializer,
    RejectSerializer,
    StageActionSerializer,
    WonSerializer,
)
from leads.api.views.common import WRITE, visible_lead
from leads.api.views.leads import ErrorSerializer
from leads.services import queue


class StageActionView(APIView):
    permission_classes = [IsAuthenticated, TokenHasScope, IsLeadReader, IsSalesForWrites]
    required_scopes = WRITE
    input_serializer = StageActionSerializer

    def act(self, *, lead, by, data: dict):
        raise NotImplementedError

    def post(self, request, pk: int):
        lead = visible_lead(request, pk)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead = self.act(lead=lead, by=request.user, data=dict(serializer.validated_data))
        return Response(LeadSerializer(lead).data, status=status.HTTP_200_OK)


def _schema(summary: str):
    """Describe a stage action in the schema: its summary, the view's input serializer, the lead back."""

    def describe(view: type[StageActionView]) -> type[StageActionView]:
        return extend_schema(
            summary=summary,
            request=view.input_serializer,
            responses={200: LeadSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        )(view)

    return describe


@_schema("Accept a new lead into sales (SAL)")
class LeadAcceptView(StageActionView):
    def act(self, *, lead, by, data):
        return queue.lead_accept(lead=lead, by=by, expected_stage=data.get("expected_stage"))


@_schema("Reject a lead with a reason code and a comment")
class LeadRejectView(StageActionView):
    input_serializer = RejectSerializer

    def act(self, *, lead, by, data):
        return queue.lead_reject(
            lead=lead,
            by=by,
            reason_code=data["reason"],
            comment=data["comment"],
            expected_stage=data.get("expected_stage"),
            referral_name=data["referral_name"],
            referral_email=data.get("referral_email", ""),
            referral_title=data["referral_title"],
            duplicate_of=data.get("duplicate_of"),
        )


@_schema("Qualify an accepted lead (SQL) once every BANT item is confirmed")
class LeadQualifyView(StageActionView):
    input_serializer = QualifySerializer

    def act(self, *, lead, by, data):
        return queue.lead_qualify(
            lead=lead,
            by=by,
            checklist=dict(data["checklist"]),
            expected_stage=data.get("expected_stage"),
            budget=data.get("budget"),
            authority=data["authority"],
            need=data["need"],
            timeframe=data["timeframe"],
        )


@_schema("Convert a qualified lead into an opportunity")
class LeadConvertView(StageActionView):
    input_serializer = ConvertSerializer

    def act(self, *, lead, by, data):
        return queue.lead_convert(
            lead=lead,
            by=by,
            amount=data["amount"],
            expected_close_on=data["expected_close_on"],
            expected_stage=data.get("expected_stage"),
        )


@_schema("Close an opportunity as won")
class LeadWonView(StageActionView):
    input_serializer = WonSerializer

    def act(self, *, lead, by, data):
        return queue.lead_close(
            lead=lead,
            by=by,
            won=True,
            amount=data["amount"],
            reason=data["reason"],
            expected_stage=data.get("expected_stage"),
        )


@_schema("Close a lead as lost, with a reason")
class LeadLostView(StageActionView):
    input_serializer = LostSerializer

    def act(self, *, lead, by, data):
        return queue.lead_close(
            lead=lead,
            by=by,
            won=False,
            amount=data.get("amount"),
            reason=data["reason"],
            expected_stage=data.get("expected_stage"),
        )
