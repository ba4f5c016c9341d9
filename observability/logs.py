"""Log records that say which request wrote them (settings.LOGGING; LOG_FORMAT).

Every record handed to the console handler carries `request_id`, `user` and `door`: those of
the request that logged it (the change context `audit.middleware` opens per request, a
context variable, so per thread), or of the command run that did. The request id is the one
the response returns as X-Request-ID and every audit entry of the request is stamped with,
so a log line leads to the request's audit entries (`GET /api/v1/audit?request_id=...`).

With LOG_FORMAT=json each record is one JSON object per line (python-json-logger).
"""

import datetime
import logging

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from common.compat import lazy_object_evaluated

CONTEXT_FIELDS = ("request_id", "user", "door")


def known_username(request) -> str:
    """The request's user's name if it is known already, "" otherwise. Never looks the user
    up: a log line must not cost a query (nor fail when the database does)."""
    user = vars(request).get("user") if request is not None else None  # set by auth middleware or DRF
    if user is None or (isinstance(user, SimpleLazyObject) and not lazy_object_evaluated(user)):
        return ""
    return user.get_username() if getattr(user, "is_authenticated", False) else ""


def http_request(value) -> HttpRequest | None:
    """The Django request in a record's `request` (Django's request logger passes it; DRF
    wraps it; the development server passes its socket instead)."""
    value = getattr(value, "_request", value)
    return value if isinstance(value, HttpRequest) else None


class RequestContextFilter(logging.Filter):
    """Adds request_id, user and door to every record that does not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if all(hasattr(record, field) for field in CONTEXT_FIELDS):
            return True  # the access log says them itself
        from audit.context import open_change
        from audit.middleware import source_for_path

        request = http_request(getattr(record, "request", None))
        context = open_change()
        if request is not None and hasattr(request, "request_id"):
            # Django logs a request's error answer after the request's context has closed.
            fields = (request.request_id, known_username(request), source_for_path(request.path))
        elif context is not None:
            user = context.actor.get_username() if context.actor is not None else known_username(context.request)
            fields = (context.request_id, user, context.source)
        else:
            fields = ("", "", "")
        for name, value in zip(CONTEXT_FIELDS, fields, strict=True):
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message, the request's
    fields, anything passed as `extra`, and `exc_info` with the traceback."""

    def __init__(self):
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # Django's loggers pass the request (or a socket) and a server time: not JSON.
            reserved_attrs=[*RESERVED_ATTRS, "request", "server_time"],
        )

    def formatTime(self, record, datefmt=None):  # logging's name for it
        return datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(timespec="milliseconds")
