"""/api/v1/audit/{id}/revert and /api/v1/audit/requests/{request_id}/revert: undo an audit
entry, or every entry of one request, as a new change through the revert door
(docs/contract.md §7, "Lifecycle"). Thin on purpose: `models_registry.reverting` plans and
applies it through the services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import AuditEntrySerializer
from audit.context import REQUEST_ID_PATTERN
from audit.models import AuditEntry
from llm_admin.api.permissions import requires
from models_registry.api.serializers import RevertConflictSerializer, RevertRequestSerializer
from models_registry.reverting import RevertRefused, revert_entry, revert_request

REVERTED = OpenApiResponse(AuditEntrySerializer(many=True), description="The entries of the new change, oldest first.")
REFUSED = OpenApiResponse(
    RevertConflictSerializer,
    description="Nothing was changed: a field changed since (`conflicts`; `force` overrides), an entry that "
    "cannot be reverted (`forceable: false`), a model to delete still in use (`dependencies`), or a "
    "provider or industry to delete still in use (`used_by`).",
)


class RevertView(APIView):
    permission_classes = [requires("audit.revert_auditentry")]

    def answer(self, request, revert, **target) -> Response:
        body = RevertRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            entries = revert(actor=request.user, **target, **body.validated_data)
        except RevertRefused as refused:
            return Response(refused.as_dict(), status=status.HTTP_409_CONFLICT)
        return Response(AuditEntrySerializer(entries, many=True).data)


class RevertEntryView(RevertView):
    @extend_schema(
        summary="Revert an audit entry (a deletion: restore the model)",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The entry's id.")],
        request=RevertRequestSerializer,
        responses={200: REVERTED, 409: REFUSED},
    )
    def post(self, request, id):
        return self.answer(request, revert_entry, entry=get_object_or_404(AuditEntry, pk=id))


class RevertRequestView(RevertView):
    @extend_schema(
        summary="Revert every entry of one request (a bulk operation, an import), newest first, all or nothing",
        parameters=[
            OpenApiParameter(
                "request_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=REQUEST_ID_PATTERN.pattern,
                description="The entries' request_id.",
            )
        ],
        request=RevertRequestSerializer,
        responses={200: REVERTED, 409: REFUSED},
    )
    def post(self, request, request_id):
        return self.answer(request, revert_request, request_id=request_id)
