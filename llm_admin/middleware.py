"""Request framing the WSGI layer leaves to the application."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream, WSGIRequest

from llm_admin.api.errors import error_response
from llm_admin.api.exceptions import PayloadTooLarge


class ChunkedRequestBodyMiddleware:
    """A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django and
    DRF read a request without one as having no body (a misleading 400 "field required").

    When the server has de-chunked the body and marks where it ends (`wsgi.input_terminated`:
    gunicorn does), it is read here, within DATA_UPLOAD_MAX_MEMORY_SIZE (413 past it), and
    given its length. A server that does not (Django's runserver) would hand over the raw
    chunk framing or block reading past the end: the request is refused with 411.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("CONTENT_LENGTH") or not is_chunked(request):
            return self.get_response(request)
        if isinstance(request, WSGIRequest):
            if not request.META.get("wsgi.input_terminated"):
                return error_response(
                    request, "Send the body with a Content-Length header.", status=411, code="length_required"
                )
            # Django bounded the stream at the (absent) Content-Length, i.e. to nothing; it is
            # bounded at one byte past the limit instead, which is all `body` reads.
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            request._stream = LimitedStream(request.META["wsgi.input"], sys.maxsize if limit is None else limit + 1)
        try:
            body = request.body
        except RequestDataTooBig:
            return error_response(
                request, str(PayloadTooLarge.default_detail), status=413, code=PayloadTooLarge.default_code
            )
        request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)


def is_chunked(request) -> bool:
    codings = request.META.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in (coding.strip().lower() for coding in codings.split(","))
