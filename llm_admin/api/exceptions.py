"""One exception handler: Django's errors, and the errors each app registers, in DRF's
shapes; every refused call announced (`request_refused`), for the security log.

The framework knows no app: an app whose services raise errors of their own registers how
the API answers them (`register_error_response`) from its AppConfig.ready().
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from llm_admin.api.errors import DATABASE_UNAVAILABLE_MESSAGE, caused_by_database
from llm_admin.api.signals import request_refused

ErrorResponse = Callable[[Exception], Response]
# {error class: how the API answers it}, filled by the apps that raise them.
ERROR_RESPONSES: dict[type[Exception], ErrorResponse] = {}


def register_error_response(error: type[Exception], respond: ErrorResponse) -> None:
    """The API answers `error` (and its subclasses) with `respond(exc)`."""
    ERROR_RESPONSES[error] = respond


def registered_response(exc: Exception) -> Response | None:
    for cls in type(exc).__mro__:
        respond = ERROR_RESPONSES.get(cls)
        if respond is not None:
            return respond(exc)
    return None


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE_MESSAGE
    default_code = "database_unavailable"


def exception_handler(exc, context):
    response = registered_response(exc)
    if response is not None:
        return response
    if isinstance(exc, ProtectedError):
        used_by = sorted({str(obj) for obj in exc.protected_objects})[:50]
        return Response({"detail": "It is still in use.", "used_by": used_by}, status=status.HTTP_409_CONFLICT)
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
        request_refused.send(
            sender=exception_handler,
            request=context.get("request"),
            detail={"status": response.status_code, "view": type(context.get("view")).__name__},
        )
    return response
