"""Leads: list with filters, create (marketing), detail, update within the caller's role, activities."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from leads.api.permissions import IsLeadCreator, IsLeadReader, IsSalesForWrites, TokenHasScope
from leads.api.serializers.leads import LeadCreateSerializer, LeadSerializer, LeadUpdateSerializer
from leads.api.serializers.misc import ActivitySerializer, TouchSerializer
from leads.api.views.common import READ, WRITE, visible_lead
from leads.forms import MAX_ID
from leads.lifecycle import Stage
from leads.models import Activity
from leads.models.lead import Grade
from leads.selectors import lead_filter
from leads.services.assignment import leads_reassign
from leads.services.lead_edit import lead_update
from leads.services.lifecycle import lead_create
from leads.services.queue import lead_touch_log

LEAD_PERMISSIONS = [IsAuthenticated, TokenHasScope, IsLeadReader]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class DuplicateSerializer(ErrorSerializer):
    existing_id = serializers.IntegerField()


class LeadFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200, help_text="Name, company or email prefix.")
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    grade = serializers.ChoiceField(
        choices=[*[(g, g) for g in Grade.values if g], ("none", "Not scored")], required=False
    )
    owner = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    unassigned = serializers.BooleanField(required=False, default=False)
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


@extend_schema_view(
    get=extend_schema(summary="List the leads you may see", parameters=[LeadFilterSerializer]),
    post=extend_schema(
        summary="Create a lead (an inquiry); marketing and admins",
        request=LeadCreateSerializer,
        responses={201: LeadSerializer, 400: ErrorSerializer, 409: DuplicateSerializer},
    ),
)
class LeadListCreateView(generics.ListCreateAPIView):
    permission_classes = [*LEAD_PERMISSIONS, IsLeadCreator]
    required_scopes = {"GET": READ, "POST": WRITE}
    serializer_class = LeadSerializer

    def get_queryset(self):
        params = LeadFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        return lead_filter(
            user=self.request.user,
            q=f.get("q", ""),
            stage=f.get("stage", ""),
            grade=f.get("grade", ""),
            owner_id=f.get("owner"),
            unassigned=f["unassigned"],
            campaign_id=f.get("campaign"),
        ).select_related("campaign", "owner")

    def create(self, request, *args, **kwargs):
        serializer = LeadCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        lead = lead_create(by=request.user, reason="Created through the API", **serializer.validated_data)
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="One lead"),
    patch=extend_schema(
        summary="Update a lead's facts (managers and admins may also set the owner)",
        request=LeadUpdateSerializer,
        responses={200: LeadSerializer, 400: ErrorSerializer, 409: DuplicateSerializer},
    ),
)
class LeadDetailView(generics.GenericAPIView):
    permission_classes = LEAD_PERMISSIONS
    required_scopes = {"GET": READ, "PATCH": WRITE}
    serializer_class = LeadSerializer

    def get(self, request, pk: int):
        return Response(LeadSerializer(visible_lead(request, pk)).data)

    def patch(self, request, pk: int):
        lead = visible_lead(request, pk)
        serializer = LeadUpdateSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        owner = changes.pop("owner", None)
        # One unit of work: a refused reassignment leaves the facts unchanged too.
        with transaction.atomic():
            if changes:
                lead = lead_update(lead=lead, by=request.user, changes=changes)
            if owner is not None:
                leads_reassign(lead_ids=[lead.pk], to_user=owner, by=request.user, reason="Reassigned through the API")
        return Response(LeadSerializer(visible_lead(request, pk)).data)


@extend_schema_view(
    get=extend_schema(summary="A lead's activities, newest first"),
    post=extend_schema(
        summary="Log a sales touch (call, email, meeting, social) on a lead",
        request=TouchSerializer,
        responses={201: ActivitySerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    ),
)
class LeadActivitiesView(generics.ListCreateAPIView):
    permission_classes = [*LEAD_PERMISSIONS, IsSalesForWrites]
    required_scopes = {"GET": READ, "POST": WRITE}
    serializer_class = ActivitySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Activity.objects.none()
        lead = visible_lead(self.request, self.kwargs["pk"])
        return Activity.objects.filter(lead=lead).select_related("recorded_by")

    def create(self, request, *args, **kwargs):
        lead = visible_lead(request, kwargs["pk"])
        serializer = TouchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activity = lead_touch_log(lead=lead, by=request.user, **serializer.validated_data)
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)
