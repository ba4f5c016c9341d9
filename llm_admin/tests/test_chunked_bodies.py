"""A request body sent with `Transfer-Encoding: chunked` (no Content-Length) is read when
the server de-chunks it (gunicorn), within DATA_UPLOAD_MAX_MEMORY_SIZE (413 past it), and
refused with 411 when the server cannot say where it ends. Never read as an empty body.
(Issue 10, item 11; docs/api.md, request bodies.)"""

import io
import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from accounts.services import api_token_create
from llm_admin.tests import servers
from models_registry.models import AIModel
from models_registry.tests.factories import ProviderFactory

BODY = json.dumps({"name": "chunked-model", "provider": "openai", "description": "sent in chunks"}).encode()


class UnreadableInput(io.RawIOBase):
    """A socket with more bytes behind it than the body: reading it would block."""

    def read(self, size=-1):
        raise AssertionError("the body was read past its end")

    readline = read


def wsgi_call(method: str, path: str, body: io.IOBase, *, terminated: bool, **headers: str) -> tuple[int, dict, bytes]:
    """One request through the project's WSGI application, with the environ a server builds
    for a chunked body: HTTP_TRANSFER_ENCODING and no CONTENT_LENGTH."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_TYPE": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + name.upper(): value for name, value in headers.items()},
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), dict(response_headers)

    # As Django's test client does: a request would otherwise close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], content


@pytest.fixture
def token(make_user):
    ProviderFactory(slug="openai")
    return api_token_create(user=make_user("editor"))[1]


@pytest.mark.django_db
@pytest.mark.parametrize("coding", ["chunked", "Chunked"])
def test_a_chunked_body_the_server_has_ended_is_read(token, coding):
    status, _, content = wsgi_call(
        "POST",
        "/api/v1/models",
        io.BytesIO(BODY),
        terminated=True,
        authorization=f"Bearer {token}",
        transfer_encoding=coding,
    )

    assert status == 201, content
    assert json.loads(content)["name"] == "chunked-model"
    assert AIModel.objects.get().description == "sent in chunks"


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=len(BODY) - 1)
def test_a_chunked_body_over_the_limit_is_a_413(token):
    status, headers, content = wsgi_call(
        "POST", "/api/v1/models", io.BytesIO(BODY), terminated=True, authorization=f"Bearer {token}"
    )

    assert (status, headers["Content-Type"]) == (413, "application/json")
    assert json.loads(content) == {"detail": "The request body is too large."}
    assert not AIModel.objects.exists()


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=len(BODY))
def test_a_chunked_body_of_exactly_the_limit_is_read(token):
    status, _, content = wsgi_call(
        "POST", "/api/v1/models", io.BytesIO(BODY), terminated=True, authorization=f"Bearer {token}"
    )

    assert status == 201, content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/models", {"detail": "Send the body with a Content-Length header."}),
        (
            "/v1/models",
            {
                "error": {
                    "message": "Send the body with a Content-Length header.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "length_required",
                }
            },
        ),
    ],
)
def test_a_chunked_body_the_server_has_not_ended_is_refused_with_411_unread(token, path, expected):
    status, headers, content = wsgi_call(
        "POST", path, UnreadableInput(), terminated=False, authorization=f"Bearer {token}"
    )

    assert (status, headers["Content-Type"]) == (411, "application/json")
    assert json.loads(content) == expected
    assert headers["X-Request-ID"]
    assert not AIModel.objects.exists()


@pytest.mark.django_db
def test_outside_the_api_the_411_is_plain_text():
    status, headers, content = wsgi_call("POST", "/admin/login/", UnreadableInput(), terminated=False)

    assert (status, headers["Content-Type"]) == (411, "text/plain; charset=utf-8")
    assert content == b"Send the body with a Content-Length header."


def chunks(data: bytes, size: int = 7):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_reads_a_chunked_body_and_refuses_one_over_the_limit(token):
    big = json.dumps({"name": "too-big", "provider": "openai", "description": "x" * 3000}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with servers.gunicorn(servers.current_database_url(), DATA_UPLOAD_MAX_MEMORY_SIZE="2000") as port:
        created = servers.request(port, "POST", "/api/v1/models", chunks(BODY), headers)
        refused = servers.request(port, "POST", "/api/v1/models", chunks(big, 500), headers)

    status, _, content = created
    assert status == 201, content
    assert json.loads(content)["description"] == "sent in chunks"
    status, response_headers, content = refused
    assert (status, response_headers["Content-Type"]) == (413, "application/json")
    assert json.loads(content) == {"detail": "The request body is too large."}
    assert list(AIModel.objects.values_list("name", "description")) == [("chunked-model", "sent in chunks")]


def test_gunicorn_refuses_a_chunked_body_over_the_limit_before_anything_else():
    # No database at all: the refusal comes first, from the body's size alone.
    unreachable = f"postgres://postgres@127.0.0.1:{servers.free_port()}/llm_admin"
    body = chunks(b"[" + b"1," * 3000 + b"1]", 100)
    with servers.gunicorn(unreachable, DATA_UPLOAD_MAX_MEMORY_SIZE="2000") as port:
        status, headers, content = servers.request(
            port, "POST", "/api/v1/models", body, {"Content-Type": "application/json"}
        )

    assert (status, headers["Content-Type"]) == (413, "application/json")
    assert json.loads(content) == {"detail": "The request body is too large."}
