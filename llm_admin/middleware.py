"""What the WSGI layer leaves to the application: request framing, and the reference cycles a
request leaves behind."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.utils.functional import SimpleLazyObject

from common.compat import replace_request_stream
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
            replace_request_stream(
                request, LimitedStream(request.META["wsgi.input"], sys.maxsize if limit is None else limit + 1)
            )
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


class ReferenceCycleMiddleware:
    """Breaks the reference cycles that would keep each request and its response alive after
    the server has sent it, until the cycle collector's next full pass: with a list's rendered
    body in it, that grew a worker by hundreds of megabytes per request under load.

    The cycles: a class-based view keeps bound methods of itself (Django's `self.head =
    self.get`, a viewset's `self.get = self.list`) beside the request and the response, whose
    data's serializer keeps the view again (and the request, in its context, from a tree of
    fields that point back at it); DRF's Response keeps the view and itself in
    `renderer_context`; DRF's Request keeps itself and the view in `parser_context`; Django's
    message storage keeps the request it hangs on, and `request.user` (until DRF sets it) and
    `request.auser` are closures over the request. Outermost, so that everything else is done
    with them when they are broken; a test (models_registry/tests/test_api_reference_cycles.py)
    finds any new one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Set by DRF on its own responses, and by llm_admin.api.streaming on streamed ones.
        context = getattr(response, "renderer_context", None)
        if context:
            view, api_request = context.get("view"), context.get("request")
            if view is not None:
                vars(view).clear()  # the view is done: its response is rendered
            if api_request is not None:
                api_request.parser_context = None
            response.renderer_context = None
        for serializer in serializers_of(getattr(response, "data", None)):
            serializer.context.clear()  # the request and the view it was given (its fields point back at it)
        for name in ("auser", "_messages"):
            request.__dict__.pop(name, None)
        if isinstance(request.__dict__.get("user"), SimpleLazyObject):
            del request.user
        return response


def serializers_of(data) -> list:
    """The serializers whose output a DRF response holds: its data's own (ReturnList and
    ReturnDict keep the serializer that made them), or, in a page's envelope, its results'."""
    found = [getattr(data, "serializer", None)]
    if isinstance(data, dict):
        found += [getattr(value, "serializer", None) for value in data.values()]
    return [serializer for serializer in found if serializer is not None]
