"""One exception handler: Django's and the services' errors in DRF's shapes, and every
refused call in the security log."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from audit.choices import SecurityEventType
from audit.security import record_security_event
from llm_admin.api.errors import DATABASE_UNAVAILABLE_MESSAGE, caused_by_database
from models_registry.services import HasDependenciesError, StaleVersionError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE_MESSAGE
    default_code = "database_unavailable"


def exception_handler(exc, context):
    if isinstance(exc, HasDependenciesError):
        return Response(
            {"detail": str(exc), "dependencies": [d.as_dict() for d in exc.dependents]}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, ProtectedError):
        used_by = sorted({str(obj) for obj in exc.protected_objects})[:50]
        return Response({"detail": "It is still in use.", "used_by": used_by}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, StaleVersionError):
        return Response(
            {"detail": "The model changed since the version you sent (If-Match); nothing was changed."},
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif caused_by_database(exc):
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied):
        request = context.get("request")
        record_security_event(
            SecurityEventType.PERMISSION_DENIED,
            request=request,
            detail={"status": response.status_code, "view": type(context.get("view")).__name__},
        )
    return response
