"""Nurture API: list tracks; enrol a lead in a track or take it out. DRF defaults from settings."""

from __future__ import annotations

from django.http import Http404
from rest_framework import permissions, serializers, status
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


def _enrolment_data(enrolment: Enrolment) -> dict:
    return {
        "id": enrolment.pk,
        "lead_id": enrolment.lead_id,
        "track": enrolment.track.slug,
        "status": enrolment.status,
        "exit_reason": enrolment.exit_reason or None,
        "next_step": enrolment.next_step.position if enrolment.next_step else None,
        "next_due_at": enrolment.next_due_at,
    }


def _error(exc: ApplicationError) -> Response:
    code = status.HTTP_409_CONFLICT if exc.code == "conflict" else status.HTTP_400_BAD_REQUEST
    return Response({"detail": exc.message, "code": exc.code}, status=code)


class EnrolmentCreateAPIView(APIView):
    """Enrol a lead in an active track (it moves to nurture); 409 if it is already enrolled."""

    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsMarketer]
    required_scopes = {"nurture:write"}

    def post(self, request: Request) -> Response:
        serializer = EnrolSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        track = Track.objects.filter(slug=serializer.validated_data["track"]).first()
        if track is None:
            return Response({"track": [f"No track with the slug {serializer.validated_data['track']!r}."]}, status=400)
        try:
            lead = lead_get(user=request.user, pk=serializer.validated_data["lead_id"])
        except Http404:
            return Response({"lead_id": ["No such lead."]}, status=400)
        try:
            enrolment = enrolment_create_by_hand(lead=lead, track=track, by=request.user, source=Enrolment.Source.API)
        except ApplicationError as exc:
            return _error(exc)
        return Response(_enrolment_data(enrolment), status=status.HTTP_201_CREATED)


class LeadEnrolmentAPIView(APIView):
    """GET the lead's active enrolment; DELETE takes the lead out of its track (it stays in nurture)."""

    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsMarketer]
    required_scopes = {"GET": {"leads:read"}, "DELETE": {"nurture:write"}}

    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(user=request.user, pk=lead_id)
        enrolment = Enrolment.objects.filter(lead=lead, status="active").select_related("track", "next_step").first()
        if enrolment is None:
            return Response({"detail": "This lead is not enrolled in a track."}, status=404)
        return Response(_enrolment_data(enrolment))

    def delete(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(user=request.user, pk=lead_id)
        try:
            enrolment_remove(lead=lead, by=request.user)
        except ApplicationError as exc:
            return Response({"detail": exc.message}, status=404)
        return Response(status=status.HTTP_204_NO_CONTENT)
