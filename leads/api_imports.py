"""REST API for automation: upload a list (and start it), then poll its status."""

from __future__ import annotations

import json

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.permissions import TokenHasScope
from leads.forms import MAX_ID
from leads.models import Campaign, DuplicatePolicy, ImportJob
from leads.roles import Role, has_role, is_admin
from leads.services.imports import NewCampaign, import_job_submit


class IsImporter(permissions.BasePermission):
    message = "Imports are for marketing."

    def has_permission(self, request, view) -> bool:
        return bool(is_admin(request.user) or has_role(request.user, Role.MARKETING))


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False)
    campaign_name = serializers.CharField(required=False, max_length=200)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)
    cost = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=0)
    source = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    duplicate_policy = serializers.ChoiceField(choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP)
    keep_extra = serializers.BooleanField(default=True)
    mapping = serializers.CharField(required=False, help_text='JSON: {"column index": "target"}')
    start = serializers.BooleanField(default=True)

    def validate_mapping(self, value: str) -> dict[str, str]:
        try:
            mapping = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("mapping must be a JSON object of column index to field.")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise serializers.ValidationError("mapping must be a JSON object of column index to field.")
        return {str(k): v for k, v in mapping.items()}

    def validate(self, data):
        if not data.get("campaign") and not data.get("campaign_name"):
            raise serializers.ValidationError("Give campaign (an id) or campaign_name to create one.")
        return data


class ImportDetectedSerializer(serializers.Serializer):
    kind = serializers.CharField(allow_blank=True)
    encoding = serializers.CharField(allow_blank=True)
    delimiter = serializers.CharField(allow_blank=True)
    sheet = serializers.CharField(allow_blank=True)
    header_line = serializers.IntegerField(allow_null=True)


class ImportStatusSerializer(serializers.Serializer):
    """The shape of `job_status` (documentation for the schema)."""

    id = serializers.IntegerField()
    status = serializers.CharField(allow_blank=True)
    file = serializers.CharField(allow_blank=True)
    campaign = serializers.IntegerField(allow_null=True)
    rows_done = serializers.IntegerField()
    total_rows = serializers.IntegerField(allow_null=True)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    duplicates_in_file = serializers.IntegerField()
    errors = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    headers = serializers.JSONField()
    mapping = serializers.JSONField()
    detected = ImportDetectedSerializer()
    error_file = serializers.CharField(allow_blank=True)
    status_url = serializers.CharField(allow_blank=True)


def job_status(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "file": job.original_name,
        "campaign": job.campaign_id,
        "rows_done": job.rows_done,
        "total_rows": job.total_rows,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "duplicates_in_file": job.duplicate_count,
        "errors": job.error_count,
        "message": job.message,
        "headers": job.headers,
        "mapping": job.mapping,
        "detected": {
            "kind": job.kind,
            "encoding": job.encoding,
            "delimiter": job.delimiter,
            "sheet": job.sheet,
            "header_line": job.header_line,
        },
        "error_file": reverse("imports:errors", args=[job.pk]),
        "status_url": reverse("imports:api_status", args=[job.pk]),
    }


class ImportUploadAPIView(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsImporter]
    required_scopes = {"imports:write"}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload a list (CSV, TSV, TXT, XLSX) into a campaign and start the import",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportStatusSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        campaign = data.get("campaign") or NewCampaign(
            name=data["campaign_name"],
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            cost=data.get("cost") or 0,
        )
        job = import_job_submit(
            by=request.user,
            upload=data["file"],
            campaign=campaign,
            source=data["source"],
            mapping=data.get("mapping"),
            keep_extra=data["keep_extra"],
            duplicate_policy=data["duplicate_policy"],
            start=data["start"],
        )
        return Response(job_status(job), status=status.HTTP_201_CREATED)


class ImportStatusAPIView(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenHasScope, IsImporter]
    required_scopes = {"imports:write"}

    @extend_schema(summary="The status of an import", responses={200: ImportStatusSerializer})
    def get(self, request: Request, pk: int) -> Response:
        job = ImportJob.objects.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        if job is None:
            raise NotFound("No such import.")
        return Response(job_status(job))
