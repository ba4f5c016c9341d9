"""/api/v1/scheduled-changes (docs/contract.md §7, "Lifecycle"): list, schedule and cancel
status changes the worker applies on time. Callers need the right to change models."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from common.parsing import parse_datetime
from llm_admin.api.permissions import requires
from models_registry.api.fields import StrictCharField
from models_registry.api.serializers import ModelReferenceField
from models_registry.api.views import AsciiIdLookupMixin
from models_registry.choices import ScheduledStatus
from models_registry.limits import REASON_MAX_LENGTH
from models_registry.models import ScheduledChange
from models_registry.services.scheduled import NotPendingError, scheduled_change_cancel, scheduled_change_create


@extend_schema_field(OpenApiTypes.DATETIME)
class StrictDateTimeField(serializers.DateTimeField):
    """ISO 8601 text with a time; UTC when it names no offset."""

    def to_internal_value(self, value):
        try:
            moment = parse_datetime(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error
        return super().to_internal_value(moment)


class ScheduledChangeSerializer(serializers.ModelSerializer):
    model = ModelReferenceField()
    status = serializers.ChoiceField(choices=ScheduledStatus.choices)
    at = StrictDateTimeField()
    reason = StrictCharField(max_length=REASON_MAX_LENGTH, required=False, default="", allow_blank=True)

    class Meta:
        model = ScheduledChange
        fields = ["id", "model", "status", "at", "reason", "state", "error", "created_at", "created_by",
                  "finished_at", "finished_by"]  # fmt: skip
        read_only_fields = ["state", "error", "created_at", "created_by", "finished_at", "finished_by"]


@extend_schema_view(
    list=extend_schema(summary="Scheduled status changes, soonest first"),
    create=extend_schema(
        summary="Schedule a model to become deprecated or inactive at a given time",
        responses={201: ScheduledChangeSerializer},
    ),
    destroy=extend_schema(
        summary="Cancel a pending scheduled change (it is kept, as cancelled)",
        responses={
            204: None,
            409: OpenApiResponse(
                inline_serializer(
                    "NotPendingConflict",
                    {"detail": serializers.CharField(), "state": serializers.CharField()},
                ),
                description="It is no longer pending (applied, cancelled or failed).",
            ),
        },
    ),
)
class ScheduledChangeViewSet(
    AsciiIdLookupMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ScheduledChange.objects.select_related("model").order_by("at", "pk")
    serializer_class = ScheduledChangeSerializer
    permission_classes = [requires("models_registry.change_aimodel")]
    http_method_names = ["get", "post", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]+"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = scheduled_change_create(actor=request.user, **serializer.validated_data)
        location = request.build_absolute_uri(f"/api/v1/scheduled-changes/{change.pk}")
        return Response(
            self.get_serializer(change).data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )

    def destroy(self, request, *args, **kwargs):
        try:
            scheduled_change_cancel(change=self.get_object(), actor=request.user)
        except NotPendingError as error:
            return Response({"detail": str(error), "state": error.change.state}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
