"""/api/v1/models, /providers, /industries (docs/contract.md §3). Writes go through the services."""

import datetime
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from audit.api.serializers import AuditEntrySerializer
from audit.models import AuditEntry
from llm_admin.api import streaming
from llm_admin.api.pagination import PageNumberPagination, PageOrCursorPagination
from llm_admin.api.permissions import RegistryPermissions, requires
from models_registry.api.representation import ROWS, HistoryPageSource, PageSource, etag, represent
from models_registry.api.serializers import (
    AIModelSerializer,
    BulkRequestSerializer,
    BulkResultSerializer,
    DependencySerializer,
    IndustrySerializer,
    ModelOptionSerializer,
    MovedDependentsSerializer,
    MoveDependentsSerializer,
    ProviderSerializer,
    schema_pattern,
)
from models_registry.as_of import AsOfFilterSet, HistoricalAIModel, as_of_instant, model_as_of, rows_as_of
from models_registry.choices import BulkAction, Capability, ModelType
from models_registry.filtersets import SLUG_PATTERN, AIModelFilterSet
from models_registry.limits import validate_reason
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.selectors import OPTIONS_LIMIT_MAX, OptionsQuery, aimodel_options, aimodel_options_version
from models_registry.services import (
    TargetNotActiveError,
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_move_dependents,
    aimodel_update,
    dependency_register,
    dependency_unregister,
    reference_delete,
    reference_save,
)

REASON_HEADER = "X-Change-Reason"
REASON_PARAMETER = OpenApiParameter(
    REASON_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="Why; kept in the audit log."
)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The ETag you read; 412 if it is stale."
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The ETag you have; 304 if it is current."
)
ASCII_ID = re.compile(r"[0-9]+\Z")
AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    description="The registry as it was at this instant (ISO 8601; without an offset, UTC), e.g. to read the "
    "prices a model had on a date: every field, alias, industry profile, provider slug, successor and dependency "
    "count as of then. The list's filters and ordering apply, and it is paged by cursor (`next`, `previous`; no "
    "count, and `page` is a 400). Not in the future, nor before what `prune_history` removed (400). No ETag.",
)


# Objects looked up by an id of ASCII digits only: Django reads a full-width "1" as 1 (the
# route takes any text, and the published schema says integer). (No docstring: the schema
# would show it as the description of every view built on it.)
class AsciiIdLookupMixin:
    def get_object(self):
        if not ASCII_ID.match(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise Http404
        return super().get_object()


ETAG_NUMBER = re.compile(r'^(?:W/)?"([0-9]+)"$')  # ASCII digits: `\d` is any script's
CONFLICT = inline_serializer(
    "DeleteConflict",
    {"detail": serializers.CharField(), "dependencies": serializers.ListField(child=serializers.DictField())},
)
NOT_ACTIVE = inline_serializer("TargetNotActive", {"detail": serializers.CharField()})


def change_reason(request) -> str:
    reason = request.headers.get(REASON_HEADER, "")
    try:
        validate_reason(reason)
    except DjangoValidationError as error:
        raise serializers.ValidationError({REASON_HEADER: error.message_dict["reason"]}) from error
    return reason


def expected_version(request) -> int | None:
    """The version an If-Match header names; a header that names none can never match."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = ETAG_NUMBER.match(header.strip())
    return int(match.group(1)) if match else -1


@extend_schema_view(
    list=extend_schema(summary="List models", parameters=[AS_OF], responses=AIModelSerializer(many=True)),
    retrieve=extend_schema(
        summary="One model (with an ETag)",
        description="With `as_of`: the model as it was then, without an ETag; 404 if it did not exist then.",
        parameters=[IF_NONE_MATCH, AS_OF],
        responses={200: AIModelSerializer, 304: OpenApiResponse(description="Not modified")},
    ),
    create=extend_schema(summary="Create a model", parameters=[REASON_PARAMETER]),
    update=extend_schema(summary="Replace a model", parameters=[REASON_PARAMETER, IF_MATCH]),
    partial_update=extend_schema(summary="Change a model", parameters=[REASON_PARAMETER, IF_MATCH]),
    destroy=extend_schema(
        summary="Delete a model (409 while it has dependencies)",
        parameters=[REASON_PARAMETER],
        responses={204: None, 409: CONFLICT},
    ),
)
class AIModelViewSet(viewsets.GenericViewSet):
    queryset = AIModel.objects.all()
    serializer_class = AIModelSerializer
    filterset_class = AIModelFilterSet
    pagination_class = PageOrCursorPagination  # the list; `history` pages by number only
    lookup_value_regex = r"[0-9]+"  # not `\d`, which takes any script's digits

    def get_permissions(self):
        if self.action in ("dependencies", "dependency"):
            needed = {"POST": "add_modeldependency", "DELETE": "delete_modeldependency"}.get(self.request.method)
            if needed:
                return [requires(f"models_registry.{needed}")()]
        if self.action == "bulk":
            return [requires("models_registry.bulk_aimodel")()]
        if self.action == "move_dependents":
            return [requires("models_registry.change_aimodel")()]
        return [RegistryPermissions()]

    def _ordered(self, queryset, last="pk"):
        # A stable order for pagination: the requested one, then the model's id.
        return queryset.order_by(*(queryset.query.order_by or ("name",)), last)

    def _represent_one(self, pk: int) -> tuple[dict, int]:
        row = get_object_or_404(ROWS, pk=pk)
        return represent([row], self.request)[0], row["version"]

    def _one(self, pk: int, status_code=status.HTTP_200_OK, headers=None) -> Response:
        body, version = self._represent_one(pk)
        return Response(body, status=status_code, headers={"ETag": etag(version), **(headers or {})})

    def list(self, request):
        if AS_OF.name in request.query_params:
            return self._list_as_of(request)
        queryset = self._ordered(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(PageSource(queryset))
        return self.get_paginated_response(represent(page, request))

    def _list_as_of(self, request):
        """The same filters, ordering and pages, over the models' history (models_registry/as_of.py)."""
        self.filterset_class = AsOfFilterSet  # this request's view only
        models = self.filter_queryset(HistoricalAIModel._base_manager.all())
        at = as_of_instant(request.query_params[AS_OF.name])
        source = HistoryPageSource(self._ordered(models, "id"), lambda keys: rows_as_of(keys, at))
        page = self.paginate_queryset(source)
        return self.get_paginated_response(represent(page, request))

    def retrieve(self, request, pk):
        if AS_OF.name in request.query_params:
            row = model_as_of(int(pk), requested_instant(request))
            if row is None:
                raise Http404
            return Response(represent([row], request)[0])
        body, version = self._represent_one(pk)
        if request.headers.get("If-None-Match") == etag(version):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(version)})
        return Response(body, headers={"ETag": etag(version)})

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = aimodel_create(actor=request.user, reason=change_reason(request), **serializer.service_arguments())
        response = self._one(model.pk, status.HTTP_201_CREATED)
        response["Location"] = response.data["url"]
        return response

    def update(self, request, pk, partial=False):
        model = self.get_object()
        serializer = self.get_serializer(model, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        aimodel_update(
            model=model,
            actor=request.user,
            reason=change_reason(request),
            expected_version=expected_version(request),
            **serializer.service_arguments(),
        )
        return self._one(model.pk)

    def partial_update(self, request, pk):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk):
        aimodel_delete(model=self.get_object(), actor=request.user, reason=change_reason(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"], summary="The components that use a model", responses=DependencySerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        summary="Register a component that uses the model (200 if it already was)",
        request=DependencySerializer,
        responses={201: DependencySerializer, 200: DependencySerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def dependencies(self, request, pk):
        model = self.get_object()
        if request.method == "GET":
            rows = ModelDependency.objects.filter(model=model).order_by("component_type", "component_id")
            return Response(DependencySerializer(rows, many=True).data)
        serializer = DependencySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dependency, created = dependency_register(model=model, actor=request.user, **serializer.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DependencySerializer(dependency).data, status=code)

    @extend_schema(summary="Unregister a component", responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<dependency_id>[0-9]+)", filterset_class=None)
    def dependency(self, request, pk, dependency_id):
        dependency = get_object_or_404(ModelDependency, pk=dependency_id, model_id=self.get_object().pk)
        dependency_unregister(dependency=dependency, actor=request.user, reason=change_reason(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move every registered dependency to another model (default: the successor), all or nothing",
        description="Each dependency is removed from this model and registered on the target (a component "
        "registered there already is only removed here): a `dependency.removed` and a `dependency.registered` "
        "change, each with its audit entry. 400 naming `to` when there is no successor and no `to`, or `to` is "
        "this model; 409 when the target is not active.",
        request=MoveDependentsSerializer,
        responses={
            200: MovedDependentsSerializer,
            409: OpenApiResponse(NOT_ACTIVE, description="The target is not active; nothing was moved."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="move-dependents",
        url_name="move-dependents",
        pagination_class=None,
        filterset_class=None,
    )
    def move_dependents(self, request, pk):
        model = self.get_object()
        serializer = MoveDependentsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            moved = aimodel_move_dependents(
                model=model, to=data["to"], actor=request.user, reason=data["reason"] or change_reason(request)
            )
        except TargetNotActiveError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response({"moved": moved})

    @extend_schema(
        summary="The audit entries of this model and of its parts (industry profiles, dependencies), newest first",
        responses=AuditEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=PageNumberPagination)
    def history(self, request, pk):
        model_id = get_object_or_404(AIModel.objects.values_list("pk", flat=True), pk=pk)
        entries = AuditEntry.of_object(AIModel, model_id)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

    @extend_schema(summary="A bulk operation", request=BulkRequestSerializer, responses=BulkResultSerializer)
    @action(detail=False, methods=["post"], filterset_class=None)
    def bulk(self, request):
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["action"] == BulkAction.DELETE and not request.user.has_perm("models_registry.delete_aimodel"):
            raise PermissionDenied("Deleting models needs the delete permission.")
        result = aimodel_bulk_apply(
            action=data["action"], ids=data["ids"], actor=request.user, reason=data["reason"], atomic=data["atomic"]
        )
        return Response(result.as_dict())

    @extend_schema(
        summary="The selection list: active models, by provider then name",
        description="Without `limit` the whole list, streamed from the database as it is read when it is "
        "large; with `limit`, at most that many. Cached while small; the `ETag` moves with any change.",
        parameters=[
            OpenApiParameter("model_type", OpenApiTypes.STR, many=True, enum=ModelType.values),
            OpenApiParameter("industry", OpenApiTypes.STR, many=True, pattern=schema_pattern(SLUG_PATTERN)),
            OpenApiParameter("capability", OpenApiTypes.STR, many=True, enum=Capability.values),
            OpenApiParameter("search", OpenApiTypes.STR, description="As the list's `search`; empty: no filter."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": OPTIONS_LIMIT_MAX},
                description="At most this many, the first in the list's order; left out: all of them.",
            ),
            IF_NONE_MATCH,
        ],
        responses={200: ModelOptionSerializer(many=True), 304: OpenApiResponse(description="Not modified")},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="options",
        url_name="options",
        pagination_class=None,
        filterset_class=None,
    )
    def selection_list(self, request):  # not `options`: that name is DRF's handler for HTTP OPTIONS
        query = OptionsQuery.of(request.query_params, limit=options_limit(request))
        version = aimodel_options_version(query)
        headers = {"ETag": f'"{version}"'}
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        options = aimodel_options(query, version)
        if isinstance(options, list):
            return Response(options, headers=headers)
        return streaming.streamed_json(self, streaming.JSONArray(options), headers=headers)


def requested_instant(request) -> datetime.datetime:
    """The request's `as_of`, else a 400 naming it."""
    try:
        return as_of_instant(request.query_params[AS_OF.name])
    except DjangoValidationError as error:
        raise serializers.ValidationError({AS_OF.name: error.messages}) from error


def options_limit(request) -> int | None:
    """The selection list's `limit`: 1 to OPTIONS_LIMIT_MAX, else a 400 naming it."""
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit() and digits and len(digits) <= 4 and int(digits) <= OPTIONS_LIMIT_MAX):
        raise serializers.ValidationError({"limit": [f"Enter a whole number from 1 to {OPTIONS_LIMIT_MAX}."]})
    return int(digits)


class ReferenceViewSet(
    AsciiIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Providers and industries: everyone with view rights reads, administrators write."""

    def perform_create(self, serializer):
        serializer.instance = reference_save(
            instance=serializer.Meta.model(**serializer.validated_data),
            actor=self.request.user,
            reason=change_reason(self.request),
        )

    def perform_update(self, serializer):
        instance = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(instance, name, value)
        reference_save(instance=instance, actor=self.request.user, reason=change_reason(self.request))

    def perform_destroy(self, instance):
        reference_delete(instance=instance, actor=self.request.user, reason=change_reason(self.request))


class ProviderViewSet(ReferenceViewSet):
    queryset = Provider.objects.order_by("slug")
    serializer_class = ProviderSerializer
    filterset_fields = ["slug"]


class IndustryViewSet(ReferenceViewSet):
    queryset = Industry.objects.order_by("slug")
    serializer_class = IndustrySerializer
    filterset_fields = ["slug"]
