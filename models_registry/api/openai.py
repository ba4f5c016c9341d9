"""/v1/models: the registry as OpenAI's API lists models (docs/contract.md §4), so that SDKs and
gateways that speak OpenAI can read it with an API token as their key."""

import datetime
import math
from email.utils import format_datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from audit.choices import SecurityEventType
from audit.security import record_security_event
from llm_admin.api import streaming
from llm_admin.api.errors import error_body
from llm_admin.api.permissions import RegistryPermissions
from models_registry.as_of import HistoricalAIModel, as_of_instant, latest_rows, references_as_of
from models_registry.choices import ModelStatus
from models_registry.folding import fold
from models_registry.models import AIModel, Provider, RegisteredName
from models_registry.models.aimodels import is_name
from models_registry.selectors import before_sunset

LISTED_STATUSES = [ModelStatus.ACTIVE, ModelStatus.DEPRECATED]


class OpenAIModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="model")
    created = serializers.IntegerField(help_text="Unix seconds of created_at.")
    owned_by = serializers.CharField(help_text="The provider's slug.")


class OpenAIModelListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = OpenAIModelSerializer(many=True)


def openai_error(request, message: str, code: str, http_status: int) -> Response:
    return Response(error_body(request, message, status=http_status, code=code), status=http_status)


def openai_model(name: str, created: datetime.datetime, provider: str) -> dict:
    return {"id": name, "object": "model", "created": int(created.timestamp()), "owned_by": provider}


def row_model(row: tuple) -> dict:
    return openai_model(*row)


class OpenAIView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [RegistryPermissions]
    queryset = AIModel.objects.all()  # for the permission check: view_aimodel

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            if isinstance(exc, exceptions.NotAuthenticated):
                record_security_event(SecurityEventType.PERMISSION_DENIED, request=self.request, detail={"status": 401})
            response = openai_error(
                self.request,
                "Invalid or missing API key: send 'Authorization: Bearer <token>'.",
                "invalid_api_key",
                status.HTTP_401_UNAUTHORIZED,
            )
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        if isinstance(exc, exceptions.Throttled):  # logged where it was decided
            response = openai_error(
                self.request, str(exc.detail), "rate_limit_exceeded", status.HTTP_429_TOO_MANY_REQUESTS
            )
            if exc.wait is not None:
                response["Retry-After"] = str(math.ceil(exc.wait))
            return response
        if isinstance(exc, exceptions.PermissionDenied):
            record_security_event(SecurityEventType.PERMISSION_DENIED, request=self.request, detail={"status": 403})
            return openai_error(
                self.request, "This key may not list models.", "insufficient_permissions", status.HTTP_403_FORBIDDEN
            )
        # Every other error DRF answers (405, 503, ...) in OpenAI's shape too; an exception
        # DRF does not answer goes on to Django's handler500, which does the same.
        response = super().handle_exception(exc)
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        message = str(detail) if detail is not None else "Invalid request."
        response.data = error_body(
            self.request, message, status=response.status_code, code=getattr(detail, "code", None)
        )
        return response


class OpenAIModelListView(OpenAIView):
    @extend_schema(
        summary="OpenAI-compatible: list models",
        description="The active and deprecated models, by name: one JSON body, sent as it is read "
        "from the database (chunked), however large the catalog. With `as_of`, the list as it was then.",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATETIME,
                description="The list as it was at this instant (ISO 8601; without an offset, UTC); not in the "
                "future, nor before what retention removed (400).",
            )
        ],
        operation_id="openai_models_list",
        responses=OpenAIModelListSerializer,
        tags=["openai"],
    )
    def get(self, request):
        # Streamed from a server-side cursor: a process holds one chunk of rows, however
        # large the catalog (llm_admin/api/streaming.py).
        if "as_of" in request.query_params:
            rows = self.rows_as_of(request)
        else:
            rows = streaming.Rows.of(
                before_sunset(AIModel.objects.filter(status__in=LISTED_STATUSES))
                .order_by("name")
                .values_list("name", "created_at", "provider__slug"),
                item=row_model,
            )
        body = streaming.JSONArray(rows, before=b'{"object":"list","data":', after=b"}")
        return streaming.streamed_json(self, body)

    def rows_as_of(self, request) -> streaming.Rows:
        """The list as it was at `as_of` (models_registry/as_of.py): its sunset dates against that day."""
        try:
            at = as_of_instant(request.query_params["as_of"])
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"detail": f"as_of: {' '.join(error.messages)}"}) from error
        providers = references_as_of(Provider, at)
        listed = latest_rows(HistoricalAIModel, at).filter(status__in=LISTED_STATUSES)
        return streaming.Rows.of(
            before_sunset(listed, today=at.date()).order_by("name").values_list("name", "created_at", "provider_id"),
            item=lambda row: openai_model(row[0], row[1], providers.get(row[2], ("", ""))[0]),
        )


class OpenAIModelDetailView(OpenAIView):
    @extend_schema(
        summary="OpenAI-compatible: one model (an alias resolves)",
        operation_id="openai_models_retrieve",
        responses=OpenAIModelSerializer,
        tags=["openai"],
    )
    def get(self, request, name: str):
        if not is_name(name):  # no model has one (a NUL would not even reach PostgreSQL)
            return openai_error(
                request, f"The model '{name}' does not exist", "model_not_found", status.HTTP_404_NOT_FOUND
            )
        claims = RegisteredName.objects.filter(name=fold(name), model__status__in=LISTED_STATUSES)
        claim = before_sunset(claims, path="model__").select_related("model__provider", "model__successor").first()
        if claim is None:
            return openai_error(
                request, f"The model '{name}' does not exist", "model_not_found", status.HTTP_404_NOT_FOUND
            )
        model = claim.model
        response = Response(openai_model(model.name, model.created_at, model.provider.slug))
        if model.status == ModelStatus.DEPRECATED:
            add_deprecation_headers(response, model, request)
        return response


def add_deprecation_headers(response: Response, model: AIModel, request) -> None:
    """RFC 9745 `Deprecation` (since when), RFC 8594 `Sunset` (when it goes: the sunset date,
    else the deprecation date), and the successor."""
    response["Deprecation"] = f"@{int(model.updated_at.timestamp())}"
    goes = model.sunset_date or model.deprecation_date
    if goes is not None:
        sunset = datetime.datetime.combine(goes, datetime.time(), tzinfo=datetime.UTC)
        response["Sunset"] = format_datetime(sunset, usegmt=True)
    if model.successor is not None:
        successor_url = request.build_absolute_uri(f"/v1/models/{model.successor.name}")
        response["Link"] = f'<{successor_url}>; rel="successor-version"'
