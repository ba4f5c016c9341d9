"""Under /api/ and /v1/ every error is JSON in the API's shape (docs/api.md, errors): an uncaught
exception in a view or a middleware, a CSRF refusal, an unknown route for any method, and a
database that cannot be reached (503 with Retry-After, wherever in the request it fails).
The admin keeps its HTML pages. (Issue 10, item 4.)"""

import json

import pytest
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.choices import SecurityEventType
from audit.models import SecurityEvent
from llm_admin.api.errors import api_not_found
from llm_admin.tests import servers
from models_registry.api.openai import OpenAIModelListView
from models_registry.api.views import AIModelViewSet
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

RETRY_AFTER = "5"  # settings.DATABASE_UNAVAILABLE_RETRY_AFTER's default


def plain_view(request):
    return HttpResponse("ok")


# A plain Django view, not exempt from CSRF, under each door (see test_a_csrf_refusal_...).
urlpatterns = [
    path("api/v1/plain", plain_view),
    path("admin/plain", plain_view),
    path("v1/plain", plain_view),
]


@pytest.fixture
def token(make_user):
    user = make_user("admin")
    user.is_superuser = True
    user.save()
    return api_token_create(user=user)[1]


def token_client(token: str, **kwargs) -> APIClient:
    client = APIClient(raise_request_exception=False, **kwargs)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def session_client(make_user):
    user = make_user("admin", is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def api_detail(response) -> str:
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"detail"}, body
    return body["detail"]


def openai_error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def is_html(response) -> bool:
    return response["Content-Type"].startswith("text/html") and b"<html" in response.content.lower()


# --- Uncaught exceptions --------------------------------------------------------------


def explode(*args, **kwargs):
    raise RuntimeError("a bug")


def test_an_uncaught_exception_in_an_api_view_is_a_json_500(monkeypatch, token):
    monkeypatch.setattr(AIModelViewSet, "list", explode)

    response = token_client(token).get("/api/v1/models")

    assert response.status_code == 500
    assert api_detail(response) == "Server error; nothing was changed."
    assert response["X-Request-ID"]


def test_an_uncaught_exception_in_the_openai_view_is_a_500_in_openais_shape(monkeypatch, token):
    monkeypatch.setattr(OpenAIModelListView, "get", explode)

    response = token_client(token).get("/v1/models")

    assert response.status_code == 500
    assert openai_error(response)["type"] == "server_error"


def test_an_uncaught_exception_in_a_middleware_before_the_view_is_json_under_the_api(monkeypatch, session_client):
    # The session lifetime middleware reads the session before any view runs.
    monkeypatch.setattr("accounts.middleware.session_ends_at", explode)

    api = session_client.get("/api/v1/models")
    openai = session_client.get("/v1/models")
    admin = session_client.get("/admin/")

    assert api.status_code == openai.status_code == admin.status_code == 500
    assert api_detail(api) == "Server error; nothing was changed."
    assert openai_error(openai)["type"] == "server_error"
    assert is_html(admin)


def test_an_uncaught_exception_in_the_admin_keeps_its_html_page(monkeypatch, session_client):
    monkeypatch.setattr("llm_admin.admin_site.LLMAdminSite.each_context", explode)

    response = session_client.get("/admin/")

    assert response.status_code == 500
    assert is_html(response)
    assert b"Something went wrong" in response.content


# --- The database cannot be reached -----------------------------------------------------


def fail_from_cursor(monkeypatch, first_failing: int | None, error: type[Exception] = OperationalError) -> list:
    """From the `first_failing`-th cursor of the request on (0 = the first; None = never),
    the database answers as an unreachable one does: `error`. Returns the cursors asked for."""
    database = type(connections["default"])
    real_cursor = database._cursor
    made = []

    def cursor(self, name=None):
        made.append(name)
        if first_failing is not None and len(made) > first_failing:
            raise error("could not connect to server: Connection refused")
        return real_cursor(self, name)

    monkeypatch.setattr(database, "_cursor", cursor)
    return made


def assert_database_unavailable(response, door: str) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Retry-After"] == RETRY_AFTER
    if door == "api":
        assert api_detail(response) == "The database cannot be reached; please retry."
    elif door == "openai":
        error = openai_error(response)
        assert (error["type"], error["code"]) == ("server_error", "database_unavailable")
    else:
        assert is_html(response)
        assert b"Temporarily unavailable" in response.content


# Each request is made once to count its queries, then again with the database failing from
# each of its queries on: at authentication, in the view, while writing the audit trail, at
# the session's save after the view.
REQUESTS = {
    "api token write": ("api", "token", "patch", "/api/v1/models/{id}", {"description": "changed"}),
    "api session write": ("api", "session", "patch", "/api/v1/models/{id}", {"description": "changed"}),
    "api token read": ("api", "token", "get", "/api/v1/models", None),
    "openai read": ("openai", "token", "get", "/v1/models/target", None),
    "openai list (streamed)": ("openai", "token", "get", "/v1/models", None),
    "api selection list": ("api", "token", "get", "/api/v1/models/options?search=target", None),
    "api cursor page": ("api", "token", "get", "/api/v1/models?cursor=", None),
    "admin page": ("admin", "session", "get", "/admin/models_registry/aimodel/{id}/change/", None),
}


# Committed, as in production: a failed query inside the test's own transaction would leave
# it broken for the next request, which a real request never shares.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_a_database_failing_at_any_query_of_a_request_is_a_503_with_retry_after(
    monkeypatch, token, session_client, name, error
):
    door, credentials, method, url, body = REQUESTS[name]
    model = AIModelFactory(name="target", provider=ProviderFactory(slug="openai"))
    client = token_client(token) if credentials == "token" else session_client
    url = url.replace("{id}", str(model.pk))

    def send():
        if body is None:
            return getattr(client, method)(url)
        return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")

    send()  # the first use of a token also records when it was used: count a steady request
    with monkeypatch.context() as patch:
        cursors = fail_from_cursor(patch, None)
        assert send().status_code == 200
    assert len(cursors) >= 2
    for first_failing in range(len(cursors)):
        with monkeypatch.context() as patch:
            fail_from_cursor(patch, first_failing, error)
            response = send()
        assert_database_unavailable(response, door)


def test_readyz_still_says_which_part_is_not_ready(monkeypatch):
    fail_from_cursor(monkeypatch, 0)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


def test_a_real_database_server_that_is_not_there_is_a_503_under_every_door(token):
    # A PostgreSQL URL at a port nothing listens on: every connection is refused.
    unreachable = f"postgres://postgres@127.0.0.1:{servers.free_port()}/llm_admin"
    with servers.gunicorn(unreachable) as port:
        api = servers.request(port, "GET", "/api/v1/models", headers={"Authorization": "Bearer x"})
        write = servers.request(
            port,
            "POST",
            "/api/v1/models",
            b'{"name": "x"}',
            {"Authorization": "Bearer x", "Content-Type": "application/json"},
        )
        openai = servers.request(port, "GET", "/v1/models", headers={"Authorization": "Bearer x"})
        admin = servers.request(port, "GET", "/admin/", headers={"Cookie": "sessionid=" + "a" * 32})

    for status, headers, body in (api, write):
        assert (status, headers["Retry-After"], headers["Content-Type"]) == (503, RETRY_AFTER, "application/json")
        assert json.loads(body) == {"detail": "The database cannot be reached; please retry."}
    status, headers, body = openai
    assert (status, headers["Retry-After"]) == (503, RETRY_AFTER)
    assert json.loads(body)["error"]["code"] == "database_unavailable"
    status, headers, body = admin
    assert (status, headers["Retry-After"]) == (503, RETRY_AFTER)
    assert headers["Content-Type"].startswith("text/html") and b"Temporarily unavailable" in body


# --- Unknown routes, wrong methods ----------------------------------------------------------

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("url", ["/api/v1/audit/1", "/api/v1/nothing/here", "/api/v2/models", "/api/"])
def test_an_unknown_api_route_is_a_json_404_for_every_method(token, method, url):
    # With CSRF enforced, as for a browser: a route that does not exist is not a CSRF refusal.
    client = token_client(token, enforce_csrf_checks=True)
    before = SecurityEvent.objects.count()

    response = client.generic(method, url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":
        assert json.loads(response.content) == {"detail": "Not found."}
    assert SecurityEvent.objects.count() == before


@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_v1_route_is_a_404_in_openais_shape_for_every_method(token, method):
    response = token_client(token, enforce_csrf_checks=True).generic(method, "/v1/nothing")

    assert response.status_code == 404
    if method != "HEAD":
        assert openai_error(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/api/v1/models"),
        ("DELETE", "/api/v1/models"),
        ("GET", "/api/v1/models/bulk"),
        ("PATCH", "/api/v1/models/options"),
        ("POST", "/api/v1/audit"),
        ("DELETE", "/api/v1/audit/security"),
        ("PUT", "/api/v1/models/1/dependencies"),
    ],
)
def test_a_known_route_without_that_method_is_a_json_405(token, method, url):
    response = token_client(token, enforce_csrf_checks=True).generic(method, url)

    assert response.status_code == 405
    assert "not allowed" in api_detail(response)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_wrong_method_on_v1_is_a_405_in_openais_shape(token, method):
    response = token_client(token).generic(method, "/v1/models")

    assert response.status_code == 405
    assert openai_error(response)["code"] == "method_not_allowed"


# --- Refusals raised outside the API's views ---------------------------------------------


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("door", ["api", "openai", "admin"])
def test_a_csrf_refusal_is_in_the_doors_shape_and_in_the_security_log(session_client, door):
    url = {"api": "/api/v1/plain", "openai": "/v1/plain", "admin": "/admin/plain"}[door]
    session_client.handler.enforce_csrf_checks = True

    response = session_client.post(url, {"a": 1})

    assert response.status_code == 403
    if door == "api":
        assert api_detail(response).startswith("CSRF failed: ")
    elif door == "openai":
        assert openai_error(response)["code"] == "csrf_failed"
    else:
        assert is_html(response)
    event = SecurityEvent.objects.get(event=SecurityEventType.PERMISSION_DENIED)
    assert (event.event, event.method, event.path) == (SecurityEventType.PERMISSION_DENIED, "POST", url)
    assert event.detail["status"] == 403 and event.detail["csrf"]


def test_the_catch_all_is_csrf_exempt_so_that_it_answers_every_method():
    assert api_not_found.csrf_exempt is True


@pytest.mark.parametrize("url", ["/api/v1/models", "/v1/models", "/admin/"])
def test_a_refused_host_is_a_400_in_the_doors_shape(url):
    response = Client(raise_request_exception=False).get(url, HTTP_HOST="evil.example")

    assert response.status_code == 400
    if url.startswith("/api/"):
        assert api_detail(response) == "Bad request."
    elif url.startswith("/v1/"):
        assert openai_error(response)["code"] == "bad_request"
    else:
        assert not response["Content-Type"].startswith("application/json")
