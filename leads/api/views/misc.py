"""Campaigns and the lead definition (ULD), read-only."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from leads.api.serializers.misc import (
    CampaignSerializer,
    ULDVersionDetailSerializer,
    ULDVersionSerializer,
)
from leads.api.views.common import READ, checked_id
from leads.models import Campaign, Lead, ULDVersion
from leads.roles import Role, has_role, is_admin
from leads.selectors_uld import uld_active, uld_versions


def _sees_costs(user) -> bool:
    return is_admin(user) or has_role(user, Role.MARKETING, Role.SALES_MANAGER, Role.EXECUTIVE)


class CampaignMixin:
    required_scopes = READ

    def get_queryset(self):
        # A correlated count (lead_campaign_id index) runs for the page's rows only; a JOIN ... GROUP BY
        # would count every lead of every campaign for each page.
        count = (
            Lead.objects.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(n=Count("*"))
            .values("n")
        )
        return Campaign.objects.annotate(lead_count=Coalesce(Subquery(count), 0)).order_by("-id")

    serializer_class = CampaignSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "sees_costs": _sees_costs(self.request.user)}


@extend_schema_view(get=extend_schema(summary="Campaigns (cost only for roles that see costs)"))
class CampaignListView(CampaignMixin, generics.ListAPIView):
    pass


@extend_schema_view(get=extend_schema(summary="One campaign"))
class CampaignDetailView(CampaignMixin, generics.RetrieveAPIView):
    def get_object(self):
        campaign = self.get_queryset().filter(pk=checked_id(self.kwargs["pk"])).first()
        if campaign is None:
            raise NotFound("No such campaign.")
        return campaign


class ULDActiveView(generics.GenericAPIView):
    required_scopes = READ
    serializer_class = ULDVersionDetailSerializer

    @extend_schema(
        summary="The lead definition in force",
        responses={200: ULDVersionDetailSerializer, 404: OpenApiResponse(description="No version agreed yet.")},
    )
    def get(self, request):
        version = uld_active()
        if version is None:
            raise NotFound("No version of the lead definition has been agreed yet.")
        return Response(self.get_serializer(uld_versions().get(pk=version.pk)).data)


@extend_schema_view(get=extend_schema(summary="Every version of the lead definition, newest first"))
class ULDVersionListView(generics.ListAPIView):
    required_scopes = READ
    serializer_class = ULDVersionSerializer

    def get_queryset(self):
        return ULDVersion.objects.select_related("based_on").order_by("-id")


@extend_schema_view(get=extend_schema(summary="One version of the lead definition"))
class ULDVersionDetailView(generics.RetrieveAPIView):
    required_scopes = READ
    serializer_class = ULDVersionDetailSerializer

    def get_object(self):
        version = uld_versions().prefetch_related("rejection_reasons").filter(pk=checked_id(self.kwargs["pk"])).first()
        if version is None:
            raise NotFound("No such version.")
        return version
