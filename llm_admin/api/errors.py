"""Errors answered outside a DRF view: Django's error handlers (an exception in a middleware
or a plain view, a 404 no route matched), the CSRF failure view, and a database that cannot
be reached. Under /api/ and /v1/ they answer in the API's JSON shapes; elsewhere (the admin)
with the HTML pages in templates/."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt

from llm_admin.api.renderers import dumps
from llm_admin.api.signals import request_refused

API_PREFIXES = ("/api/", "/v1/")
API_PATHS = ("/metrics",)  # answered in the API's shapes too
OPENAI_PREFIX = "/v1/"
# What a lost, refused or broken database connection raises: the request may succeed if
# retried, so it is a 503 with Retry-After, not a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_MESSAGE = "The database cannot be reached; please retry."


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIXES) or request.path_info in API_PATHS


def error_body(request, message: str, *, status: int, code: str | None = None) -> dict:
    """The error shape of the door the request came through: OpenAI's under /v1/ (docs/contract.md §4),
    DRF's `{"detail": ...}` under /api/."""
    if request.path_info.startswith(OPENAI_PREFIX):
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return {"detail": message}


def json_error(request, message: str, *, status: int, code: str | None = None) -> HttpResponse:
    body = dumps(error_body(request, message, status=status, code=code))
    return HttpResponse(body, status=status, content_type="application/json")


def error_response(request, message: str, *, status: int, code: str | None = None) -> HttpResponse:
    """An error answered before any view: JSON in the door's shape under the API, plain text
    elsewhere."""
    if is_api(request):
        return json_error(request, message, status=status, code=code)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def caused_by_database(exception: BaseException | None) -> bool:
    """Whether `exception`, or one it was raised while handling, is the database's being
    unreachable (saving a session turns it into SessionInterrupted, a 400, for instance)."""
    while exception is not None:
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return True
        exception = exception.__cause__ or exception.__context__
    return False


def database_unavailable(request) -> HttpResponse:
    if is_api(request):
        response = json_error(request, DATABASE_UNAVAILABLE_MESSAGE, status=503, code="database_unavailable")
    else:
        # The page must not need the database: 503.html extends nothing and reads no user.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    return response


def bad_request(request, exception):
    if caused_by_database(exception):
        return database_unavailable(request)
    if not is_api(request):
        return defaults.bad_request(request, exception)
    return json_error(request, "Bad request.", status=400, code="bad_request")


def permission_denied(request, exception):
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return json_error(request, "You do not have permission to perform this action.", status=403, code="forbidden")


def page_not_found(request, exception):
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return json_error(request, "Not found.", status=404, code="not_found")


def server_error(request):
    # Django calls this from inside its `except` block, so the exception is at hand here.
    if caused_by_database(sys.exc_info()[1]):
        return database_unavailable(request)
    if not is_api(request):
        return defaults.server_error(request)
    return json_error(request, "Server error; nothing was changed.", status=500, code="server_error")


def csrf_failure(request, reason=""):
    """A refused request is a denial: it goes to the security log, whichever door."""
    request_refused.send(sender=csrf_failure, request=request, detail={"status": 403, "csrf": reason})
    if not is_api(request):
        return csrf.csrf_failure(request, reason)
    return json_error(request, f"CSRF failed: {reason}", status=403, code="csrf_failed")


@csrf_exempt  # every method gets its 404, not a CSRF refusal of a route that does not exist
def api_not_found(request, *args, **kwargs):
    return json_error(request, "Not found.", status=404, code="not_found")
