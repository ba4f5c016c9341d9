"""Each request timed, its database statements counted, its metrics recorded and its line
written to the access log."""

import logging
import time
from contextlib import contextmanager

from django.db import connection
from django.utils.encoding import escape_uri_path

from audit.context import current_change
from audit.security import client_ip
from observability import metrics
from observability.logs import known_username

access_log = logging.getLogger("llm_admin.access")

METRICS_VIEW = "metrics"  # a scrape is logged, but not measured: it would measure itself
PATH_MAX_LENGTH = 1000


class RequestObservation:
    """One request: when it began, and the database statements it ran (as the database
    connection's execute wrapper, for as long as the request's own code runs)."""

    def __init__(self, request):
        self.request = request
        self.started = time.perf_counter()
        self.queries = 0
        self.database_seconds = 0.0
        # The request's context (audit.middleware's, which is open now): a streamed response
        # ends after that context has closed.
        self.request_id = getattr(request, "request_id", "") or current_change().request_id
        self.door = current_change().source
        self.status = 0
        self.finished = False

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.database_seconds += time.perf_counter() - started

    @contextmanager
    def counting(self):
        with connection.execute_wrapper(self):
            yield

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        seconds = time.perf_counter() - self.started
        request = self.request
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else metrics.UNMATCHED
        method = metrics.method_label(request.method)
        if view != METRICS_VIEW:
            metrics.REQUEST_SECONDS.labels(view=view, method=method).observe(seconds)
            metrics.RESPONSES.labels(view=view, method=method, status=str(self.status)).inc()
            metrics.QUERIES.labels(view=view).observe(self.queries)
            metrics.DATABASE_SECONDS.labels(view=view).observe(self.database_seconds)
        path = escape_uri_path(request.path)[:PATH_MAX_LENGTH]  # no raw newline can forge a line
        access_log.info(
            "%s %s %s %.1fms",
            method,
            path,
            self.status,
            seconds * 1000,
            extra={
                "method": method,
                "path": path,
                "view": view,
                "status": self.status,
                "duration_ms": round(seconds * 1000, 3),
                "db_queries": self.queries,
                "db_ms": round(self.database_seconds * 1000, 3),
                "request_id": self.request_id,
                "user": known_username(request),
                "door": self.door,
                "client": client_ip(request) or "",
            },
        )


class StreamedBody:
    """A streamed body, passed on chunk by chunk with each chunk's statements counted. The
    request ends with its last chunk, or when the server closes the response (Django closes
    every `close` it was given), whichever comes first."""

    def __init__(self, chunks, observation: RequestObservation):
        self.chunks = iter(chunks)
        self.observation = observation

    def __iter__(self):
        return self

    def __next__(self):
        with self.observation.counting():
            try:
                return next(self.chunks)
            except StopIteration:
                self.observation.finish()
                raise

    def close(self) -> None:
        self.observation.finish()


class RequestObservationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        observation = RequestObservation(request)
        with observation.counting():
            response = self.get_response(request)
        observation.status = response.status_code
        # A file (a static file, say) is handed to the server to send as it is (sendfile): its
        # request ends here. Other streamed bodies end with their last chunk.
        if response.streaming and not response.is_async and getattr(response, "file_to_stream", None) is None:
            response.streaming_content = StreamedBody(response.streaming_content, observation)
        else:
            observation.finish()
        return response
