"""One change context per HTTP request: a request id (returned as X-Request-ID) and the door."""

from django.core.exceptions import PermissionDenied

from audit.choices import ChangeSource, SecurityEventType
from audit.context import change_context, clean_request_id
from audit.security import record_security_event


def source_for_path(path: str) -> ChangeSource:
    return ChangeSource.ADMIN if path.startswith("/admin/") else ChangeSource.API


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = clean_request_id(request.headers.get("X-Request-ID"))
        with change_context(
            source=source_for_path(request.path), request_id=request.request_id, request=request, actor=None, reason=""
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            record_security_event(SecurityEventType.PERMISSION_DENIED, request=request)
        return None
