"""JSON-lines logs (LOG_FORMAT=json): one JSON object per line for each request's access
line and for every application record, each carrying the request id, user and door of the
request that wrote it, so a log line leads to the request's audit entries."""

import io
import json
import logging
import logging.config
import re
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.context import change_context
from audit.models import AuditEntry
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

ACCESS_FIELDS = {"method", "path", "view", "status", "duration_ms", "db_queries", "db_ms", "request_id", "user"}
ACCESS_FIELDS |= {"door", "client", "time", "level", "logger", "message"}


@pytest.fixture
def log_lines():
    """The console handler as settings.LOGGING makes it, switched to LOG_FORMAT=json (its
    formatter as the settings configure it) and writing here; lines() -> the parsed lines."""
    [handler] = [handler for handler in logging.getLogger().handlers if handler.get_name() == "console"]
    configurator = logging.config.DictConfigurator(settings.LOGGING)
    json_formatter = configurator.configure_formatter(dict(settings.LOGGING["formatters"]["json"]))
    stream = io.StringIO()
    old_stream, old_formatter = handler.setStream(stream), handler.formatter
    handler.setFormatter(json_formatter)

    def lines() -> list[dict]:
        text = stream.getvalue()
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]  # each line is one JSON object

    try:
        yield lines
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(old_formatter)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "llm_admin.access"]


def test_a_write_through_the_api_can_be_followed_from_its_access_line_to_its_audit_entry(log_lines, make_user):
    _, key = api_token_create(user=make_user("editor", username="eve"))
    ProviderFactory(slug="acme")
    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = editor.post("/api/v1/models", {"name": "followed-model", "provider": "acme"}, format="json")

    assert response.status_code == 201
    [line] = access_lines(log_lines())
    entry = AuditEntry.objects.get(object_type="aimodel", object_repr="followed-model")
    assert line["request_id"] == entry.request_id == response["X-Request-ID"]
    assert (line["user"], line["door"]) == (entry.username, entry.source) == ("eve", "api")
    assert line.keys() >= ACCESS_FIELDS
    assert (line["method"], line["path"], line["view"], line["status"]) == (
        "POST",
        "/api/v1/models",
        "api:aimodel-list",
        201,
    )
    assert line["client"] == "127.0.0.1"
    assert line["level"] == "INFO"
    assert line["duration_ms"] > 0 and line["db_queries"] > 0
    assert line["time"].endswith("+00:00")


def test_an_application_record_carries_the_request_that_logged_it(log_lines, api, monkeypatch):
    """The options list logs a warning when the cache fails; the line says which request."""

    def broken(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(cache, "get", broken)

    response = api.get("/api/v1/models/options", headers={"X-Request-ID": "trace-42"})

    assert response.status_code == 200
    [warning] = [line for line in log_lines() if line["logger"] == "models_registry.selectors"]
    assert warning["level"] == "WARNING"
    assert warning["message"] == "cache unavailable; serving model options from the database"
    assert "ConnectionError: the cache is down" in warning["exc_info"]
    assert (warning["request_id"], warning["door"]) == ("trace-42", "api")
    assert warning["user"].startswith("admin-")  # the api fixture's administrator
    assert access_lines(log_lines())[0]["request_id"] == "trace-42"


def test_djangos_own_record_of_an_error_answer_carries_its_request(log_lines, api):
    """Django logs a 4xx/5xx answer after the request's context has closed: the record's
    request says which it was."""
    response = api.get("/api/v1/models/999999")

    [not_found] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert not_found["message"] == "Not Found: /api/v1/models/999999"
    assert not_found["request_id"] == response["X-Request-ID"]
    assert not_found["status_code"] == 404
    assert "request" not in not_found  # the request object itself is not JSON


def test_a_record_outside_any_request_has_empty_request_fields_and_a_commands_has_its_run(log_lines):
    logging.getLogger("llm_admin.test").warning("outside")
    with change_context(request_id="run-7", source="cli"):
        logging.getLogger("llm_admin.test").warning("inside a command")

    outside, inside = [line for line in log_lines() if line["logger"] == "llm_admin.test"]
    assert (outside["request_id"], outside["user"], outside["door"]) == ("", "", "")
    assert (inside["request_id"], inside["door"]) == ("run-7", "cli")


def test_a_path_cannot_forge_a_log_line(log_lines, client):
    client.get("/api/v1/x%0A%7B%22forged%22:%20true%7D")  # a newline in the path, once decoded

    [line] = access_lines(log_lines())
    assert "forged" not in line
    assert line["path"] == "/api/v1/x%0A%7B%22forged%22:%20true%7D"


def text_lines(request) -> list[str]:
    """The console handler's lines (LOG_FORMAT=text, as in development and tests) while
    `request()` runs."""
    [handler] = [handler for handler in logging.getLogger().handlers if handler.get_name() == "console"]
    stream = io.StringIO()
    old_stream = handler.setStream(stream)
    try:
        request()
    finally:
        handler.setStream(old_stream)
    return stream.getvalue().splitlines()


def test_the_text_format_has_one_readable_line_per_request_with_its_request_id(client):
    [line] = text_lines(lambda: client.get("/healthz", headers={"X-Request-ID": "probe-1"}))

    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+ INFO llm_admin\.access \[probe-1\] GET /healthz 200 [\d.]+ms", line)


def test_in_text_too_a_path_cannot_forge_a_line(client):
    forged = "2026-01-01 00:00:00,000 INFO llm_admin.access [forged] GET / 200"

    lines = text_lines(lambda: client.get("/x%0A" + quote(forged)))

    assert len(lines) == 2  # the access line and Django's "Not Found", each on one line
    assert not any(line.startswith(forged) for line in lines)
