"""One request id per HTTP request, returned as X-Request-ID and stamped on everything the
request wrote; and the security log of sign-ins, failed sign-ins and sign-outs."""

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from audit.choices import ChangeSource, SecurityEventType
from audit.context import change_context
from audit.middleware import RequestContextMiddleware
from audit.models import AuditEntry, SecurityEvent
from audit.security import record_security_event
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
PASSWORD = "correct horse battery staple"  # what conftest's make_user sets


# --- X-Request-ID ------------------------------------------------------------------------


def test_every_response_carries_a_generated_request_id(client):
    first = client.get("/admin/login/")
    second = client.get("/admin/login/")

    assert first.status_code == 200
    assert GENERATED_REQUEST_ID.match(first["X-Request-ID"])
    assert GENERATED_REQUEST_ID.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_redirect_carries_a_request_id_too(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert GENERATED_REQUEST_ID.match(response["X-Request-ID"])


@pytest.mark.parametrize("incoming", ["abc-123", "trace.7f:span_01", "A" * 64])
def test_a_sane_incoming_request_id_is_echoed_back(client, incoming):
    response = client.get("/admin/login/", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["has spaces in it", "x" * 200, "A" * 65, "semi;colon", "<script>", ""])
def test_an_insane_incoming_request_id_is_replaced_by_a_generated_one(client, incoming):
    response = client.get("/admin/login/", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert GENERATED_REQUEST_ID.match(response["X-Request-ID"])


@pytest.mark.parametrize(("path", "source"), [("/admin/x/", ChangeSource.ADMIN), ("/api/v1/x", ChangeSource.API)])
def test_every_change_a_request_makes_carries_its_request_id_and_door(make_user, path, source):
    user = make_user("admin")

    def view(request):
        ProviderFactory(slug="first")
        ProviderFactory(slug="second")
        return HttpResponse()

    request = RequestFactory().post(path)
    request.user = user
    response = RequestContextMiddleware(view)(request)

    entries = AuditEntry.objects.filter(object_type="provider").order_by("id")
    assert [e.object_repr for e in entries] == ["first", "second"]
    assert {(e.request_id, e.source, e.username) for e in entries} == {
        (response["X-Request-ID"], source, user.username)
    }


# --- Sign-in, failed sign-in and sign-out ------------------------------------------------


def test_signing_in_through_the_admin_records_login_succeeded(client, make_user):
    user = make_user("admin", username="alice", is_staff=True)

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD}, headers={"X-Request-ID": "login-1"}
    )

    assert response.status_code == 302
    event = SecurityEvent.objects.get(event=SecurityEventType.LOGIN_SUCCEEDED)
    assert (event.username, event.user_id) == ("alice", user.pk)
    assert (event.ip_address, event.request_id) == ("127.0.0.1", "login-1")
    assert (event.method, event.path) == ("POST", "/admin/login/?next=/admin/")


def test_a_wrong_password_records_login_failed_with_the_attempted_username(client, make_user):
    make_user("admin", username="alice", is_staff=True)

    response = client.post("/admin/login/", {"username": "alice", "password": "not the password"})

    assert response.status_code == 200  # the form again, with its error
    event = SecurityEvent.objects.get()
    assert event.event == SecurityEventType.LOGIN_FAILED
    assert (event.username, event.user_id) == ("alice", None)
    assert (event.ip_address, event.request_id) == ("127.0.0.1", response["X-Request-ID"])
    assert "not the password" not in str(event.detail)


def test_an_unknown_username_records_login_failed_too(client):
    response = client.post("/admin/login/", {"username": "nobody-here", "password": "guess"})

    event = SecurityEvent.objects.get()
    assert (event.event, event.username, event.user_id) == (SecurityEventType.LOGIN_FAILED, "nobody-here", None)
    assert event.request_id == response["X-Request-ID"]


def test_signing_out_records_logout(client, make_user):
    user = make_user("admin", username="alice", is_staff=True)
    client.post("/admin/login/", {"username": "alice", "password": PASSWORD})

    response = client.post("/admin/logout/", headers={"X-Request-ID": "logout-1"})

    assert response.status_code == 200
    event = SecurityEvent.objects.get(event=SecurityEventType.LOGOUT)
    assert (event.username, event.user_id) == ("alice", user.pk)
    assert (event.ip_address, event.request_id) == ("127.0.0.1", "logout-1")


def test_a_sign_in_outside_an_http_request_is_recorded_too(client, make_user):
    user = make_user("admin", username="alice", is_staff=True)

    # Django's test client (and any code calling auth.login with a bare HttpRequest)
    # signs in with a request that has no method and no client address.
    client.force_login(user)

    event = SecurityEvent.objects.get()
    assert (event.event, event.username, event.user_id) == (SecurityEventType.LOGIN_SUCCEEDED, "alice", user.pk)
    assert (event.method, event.ip_address) == ("", None)


# --- The one writer of the security log --------------------------------------------------


def test_record_security_event_writes_one_row_with_the_current_request_id(make_user):
    user = make_user("admin", username="alice")

    with change_context(request_id="req-42"):
        record_security_event(SecurityEventType.TOKEN_CREATED, user=user, detail={"token": "prefix-1"})

    event = SecurityEvent.objects.get()
    assert event.event == SecurityEventType.TOKEN_CREATED
    assert event.request_id == "req-42"
    assert (event.username, event.user_id) == ("alice", user.pk)
    assert event.detail == {"token": "prefix-1"}
    assert (event.ip_address, event.method, event.path) == (None, "", "")


def test_record_security_event_reads_who_and_where_from_the_request(make_user):
    user = make_user("viewer", username="bob")
    request = RequestFactory().delete("/api/v1/models/7", REMOTE_ADDR="203.0.113.9")
    request.user = user

    with change_context(request_id="req-43", request=request):
        record_security_event(SecurityEventType.PERMISSION_DENIED, request=request)

    event = SecurityEvent.objects.get()
    assert (event.event, event.username, event.user_id) == (SecurityEventType.PERMISSION_DENIED, "bob", user.pk)
    assert (event.ip_address, event.method, event.path, event.request_id) == (
        "203.0.113.9",
        "DELETE",
        "/api/v1/models/7",
        "req-43",
    )
