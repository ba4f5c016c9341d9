"""Admin sessions: how long one lasts, the sign-in lockout, and the API taken through the
admin's session (Property 14: Session Management). Re-authentication before a deletion:
test_reauthentication.py."""

import datetime
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.sessions import SIGNED_IN_AT
from accounts.tests.session_state import IDLE, LIFETIME, MARGIN, edit_session, is_signed_in, login_redirect, session_row
from accounts.tests.users import PASSWORD, new_user
from audit.models import SecurityEvent
from models_registry.models import AIModel
from models_registry.tests.admin_pages import CHANGELIST, KEEPALIVE, LOGIN, page_of, signed_in, staff
from models_registry.tests.factories import ProviderFactory


class TestSessionLifetime(TestCase):
    """Property 14: Session Management.

    A session ends after SESSION_IDLE_TIMEOUT without requests and after
    SESSION_ABSOLUTE_LIFETIME however active; every request, the keepalive included,
    renews the idle timeout."""

    @given(
        st.integers(0, IDLE - MARGIN) | st.integers(IDLE + MARGIN, 3 * IDLE), st.sampled_from([CHANGELIST, KEEPALIVE])
    )
    def test_a_session_idle_past_the_timeout_ends_and_any_request_renews_it(self, idle, path):
        client = signed_in(staff("viewer"))
        last_request = timezone.now() - datetime.timedelta(seconds=idle)
        Session.objects.filter(session_key=client.session.session_key).update(
            expire_date=last_request + datetime.timedelta(seconds=IDLE)
        )

        response = client.get(path)

        if idle >= IDLE:
            assert (response.status_code, response["Location"]) == (302, login_redirect(path))
            assert not is_signed_in(client)
            return
        assert response.status_code == 200
        if path == KEEPALIVE:
            assert response.json() == {"ok": True}
        renewed = session_row(client).expire_date - timezone.now()
        assert datetime.timedelta(seconds=IDLE - MARGIN) <= renewed <= datetime.timedelta(seconds=IDLE)

    @given(
        st.integers(0, LIFETIME - MARGIN) | st.integers(LIFETIME, 3 * LIFETIME),
        st.sampled_from([CHANGELIST, KEEPALIVE]),
    )
    def test_a_session_ends_at_its_absolute_lifetime_however_active(self, age, path):
        client = signed_in(staff("viewer"))
        signed_in_at = int(time.time()) - age
        edit_session(client, **{SIGNED_IN_AT: signed_in_at})

        response = client.get(path)

        if age >= LIFETIME:
            assert (response.status_code, response["Location"]) == (302, login_redirect(path))
            assert not is_signed_in(client)
            assert client.get(KEEPALIVE).status_code == 302
            return
        assert response.status_code == 200
        assert is_signed_in(client)
        if path == CHANGELIST:
            warning = page_of(response).find("div", id="llm-session")
            assert int(warning.attrs["data-ends-at"]) == signed_in_at + LIFETIME
            assert int(warning.attrs["data-idle-seconds"]) == IDLE


class TestSignInLockout(TestCase):
    """Property 14: Session Management.

    Repeated wrong passwords lock that user out from that address only, and only for
    AXES_COOLOFF_TIME."""

    @given(st.integers(0, settings.AXES_FAILURE_LIMIT + 2))
    def test_repeated_wrong_passwords_lock_that_user_from_that_address_for_the_cooloff(self, failures):
        user = staff("admin")
        bystander = staff("admin")
        limit, cooloff = settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME
        here, elsewhere = "203.0.113.7", "198.51.100.9"

        def sign_in(username, password, address, **headers):
            client = Client()
            response = client.post(
                f"{LOGIN}?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
            )
            return response, client

        with override_settings(AXES_ENABLED=True):
            for attempt in range(1, failures + 1):
                response, _ = sign_in(user.username, "wrong password", here)
                assert response.status_code == (429 if attempt >= limit else 200)

            response, client = sign_in(user.username, PASSWORD, here)

            if failures < limit:
                assert (response.status_code, response["Location"]) == (302, "/admin/")
                assert is_signed_in(client)
                assert abs(client.session[SIGNED_IN_AT] - time.time()) <= MARGIN
                return
            assert response.status_code == 429
            assert not is_signed_in(client)
            spoofed, client = sign_in(user.username, PASSWORD, here, HTTP_X_FORWARDED_FOR=elsewhere)
            assert spoofed.status_code == 429 and not is_signed_in(client)
            other_user, client = sign_in(bystander.username, PASSWORD, here)
            assert other_user.status_code == 302 and is_signed_in(client)
            from_elsewhere, client = sign_in(user.username, PASSWORD, elsewhere)
            assert from_elsewhere.status_code == 302 and is_signed_in(client)
            still, client = sign_in(user.username, PASSWORD, here)
            assert still.status_code == 429 and not is_signed_in(client)

            # The cool-off runs from the last attempt (each refused one counts): move it back.
            margin = datetime.timedelta(seconds=MARGIN)
            AccessAttempt.objects.update(attempt_time=timezone.now() - cooloff + margin)
            not_yet, client = sign_in(user.username, PASSWORD, here)
            assert not_yet.status_code == 429 and not is_signed_in(client)

            AccessAttempt.objects.update(attempt_time=timezone.now() - cooloff - margin)
            lifted, client = sign_in(user.username, PASSWORD, here)
            assert (lifted.status_code, lifted["Location"]) == (302, "/admin/")
            assert is_signed_in(client)


# --- The API through the admin's session -------------------------------------------


@pytest.mark.django_db
def test_the_admins_session_login_works_for_the_api():
    user = new_user("admin", "staff-admin", is_staff=True)
    ProviderFactory(slug="openai")
    browser = Client(enforce_csrf_checks=True)
    browser.get("/admin/login/")
    login = browser.post(
        "/admin/login/",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value},
    )

    listed = browser.get("/api/v1/models")
    without_csrf = browser.post("/api/v1/models", {"name": "m", "provider": "openai"}, content_type="application/json")
    created = browser.post(
        "/api/v1/models",
        {"name": "m", "provider": "openai"},
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )

    assert login.status_code == 302
    assert listed.status_code == 200
    assert without_csrf.status_code == 403
    assert created.status_code == 201
    assert AIModel.objects.get(name="m").created_by == "staff-admin"


@pytest.mark.django_db
def test_a_session_user_without_a_role_is_refused():
    user = new_user(None, "staff-nobody", is_staff=True)
    browser = Client()
    browser.force_login(user)

    response = browser.get("/api/v1/models")

    assert response.status_code == 403
    assert SecurityEvent.objects.filter(event="permission_denied", username="staff-nobody").count() == 1
