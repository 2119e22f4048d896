"""Nurture API: list tracks; enrol a lead in a track or take it out. DRF defaults from settings."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leadops.errors import ApplicationError
from leads.api.permissions import TokenHasScope
from leads.roles import Role, has_role, is_admin
from leads.selectors import lead_get
from nurture import selectors
from nurture.models import Enrolment, Track
from nurture.services.enrolment import enrolment_create_by_hand, enrolment_remove


class IsMarketer(permissions.BasePermission):
    message = "Nurture tracks belong to marketing."

    def has_permission(self, request, view) -> bool:
        return bool(is_admin(request.user) or has_role(request.user, Role.MARKETING))


class TrackSerializer(serializers.ModelSerializer):
    steps = serializers.IntegerField(source="step_count", read_only=True)
    active = serializers.IntegerField(source="active_count", read_only=True)
    enrolled = serializers.IntegerField(source="enrolled_count", read_only=True)
    sales_ready = serializers.IntegerField(source="sales_ready_count", read_only=True)

    class Meta:
        model = Track
        fields = [
            "id",
            "slug",
            "name",
            "status",
            "audience_grades",
            "audience_reasons",
            "steps",
            "active",
            "enrolled",
            "sales_ready",
        ]


class TrackPagination(CursorPagination):
    ordering = "id"


class TrackListAPIView(ListAPIView):
    """Every track with its counts."""

    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsMarketer]
    required_scopes = {"leads:read"}
    serializer_class = TrackSerializer
    pagination_class = TrackPagination

    def get_queryset(self):
        return selectors.track_list().order_by("id")


class EnrolSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField(min_value=1)
    track = serializers.SlugField(help_text="The track's slug.")


class EnrolmentSerializer(serializers.ModelSerializer):
    lead_id = serializers.IntegerField(read_only=True)
    track = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    exit_reason = serializers.CharField(read_only=True, allow_null=True)
    next_step = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = ["id", "lead_id", "track", "status", "exit_reason", "next_step", "next_due_at"]
        read_only_fields = fields

    def get_next_step(self, enrolment: Enrolment) -> int | None:
        return enrolment.next_step.position if enrolment.next_step else None

    def to_representation(self, enrolment: Enrolment) -> dict:
        data = super().to_representation(enrolment)
        data["exit_reason"] = data["exit_reason"] or None
        return data


class EnrolmentCreateAPIView(APIView):
    """Enrol a lead in an active track (it moves to nurture); 409 if it is already enrolled."""

    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsMarketer]
    required_scopes = {"nurture:write"}

    @extend_schema(request=EnrolSerializer, responses={201: EnrolmentSerializer})
    def post(self, request: Request) -> Response:
        serializer = EnrolSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        track = Track.objects.filter(slug=serializer.validated_data["track"]).first()
        if track is None:
            raise ValidationError({"track": [f"No track with the slug {serializer.validated_data['track']!r}."]})
        try:
            lead = lead_get(user=request.user, pk=serializer.validated_data["lead_id"])
        except Http404:
            raise ValidationError({"lead_id": ["No such lead."]}) from None
        enrolment = enrolment_create_by_hand(lead=lead, track=track, by=request.user, source=Enrolment.Source.API)
        return Response(EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class LeadEnrolmentAPIView(APIView):
    """GET the lead's active enrolment; DELETE takes the lead out of its track (it stays in nurture)."""

    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsMarketer]
    required_scopes = {"GET": {"leads:read"}, "DELETE": {"nurture:write"}}

    @extend_schema(responses={200: EnrolmentSerializer})
    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(user=request.user, pk=lead_id)
        enrolment = Enrolment.objects.filter(lead=lead, status="active").select_related("track", "next_step").first()
        if enrolment is None:
            raise NotFound("This lead is not enrolled in a track.")
        return Response(EnrolmentSerializer(enrolment).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(user=request.user, pk=lead_id)
        try:
            enrolment_remove(lead=lead, by=request.user)
        except ApplicationError as exc:
            raise NotFound(exc.message) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
