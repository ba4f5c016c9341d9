"""/api/v1/audit and /api/v1/audit/security: read-only, for administrators (docs/contract.md §3)."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError

from audit.api.serializers import AuditEntrySerializer, SecurityEventSerializer
from audit.exports import audit_csv
from audit.filtersets import AuditEntryFilterSet, SecurityEventFilterSet
from audit.models import AuditEntry, SecurityEvent
from llm_admin.api.permissions import requires

FORMATS = ["json", "csv"]


class AuditEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit log, newest first. `?format=csv` gives the same rows as CSV."""

    queryset = AuditEntry.objects.order_by("-timestamp", "-id")
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    permission_classes = [requires("audit.view_auditentry")]

    @extend_schema(
        summary="The audit log",
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=FORMATS, description="csv: as CSV")],
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def list(self, request, *args, **kwargs):
        wanted = request.query_params.get("format")
        if wanted not in (None, *FORMATS):
            raise ValidationError({"format": [f"Choose one of: {', '.join(FORMATS)}."]})
        if wanted == "csv":
            entries = self.filter_queryset(self.get_queryset())
            response = StreamingHttpResponse(audit_csv(entries), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
            return response
        return super().list(request, *args, **kwargs)


class SecurityEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = SecurityEvent.objects.order_by("-timestamp", "-id")
    serializer_class = SecurityEventSerializer
    filterset_class = SecurityEventFilterSet
    permission_classes = [requires("audit.view_securityevent")]
