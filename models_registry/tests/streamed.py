"""Reading answers that may be streamed (llm_admin/api/streaming.py) in tests, through the test
client or as a WSGI server does."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.util import setup_testing_defaults

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def body(response) -> bytes:
    """The whole body, streamed or not."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def body_json(response):
    return json.loads(body(response))


@contextmanager
def connection_kept() -> Iterator[None]:
    """Requests made through the WSGI handler leave the test's connection (and transaction)
    open, as the test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def wsgi_get(handler: WSGIHandler, url: str, token: str):
    """(status line, the iterable a WSGI server is given) for a GET of `url`; the server reads
    it, or not, then closes it. Inside `connection_kept()`."""
    path, _, query = url.partition("?")
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "HTTP_AUTHORIZATION": f"Bearer {token}"}
    setup_testing_defaults(environ)
    started = []
    result = handler(environ, lambda status, headers, exc_info=None: started.append(status))
    return started[0], result
