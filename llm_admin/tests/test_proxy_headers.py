"""X-Forwarded-Proto and X-Forwarded-For are believed only behind a configured proxy
(issue 10, item 12): without DJANGO_TRUST_PROXY_HEADERS any client could send them, to
pass as HTTPS or to pose as another address (in the security log, for the throttles and for
the admin's sign-in lockout). /healthz and /readyz answer over plain HTTP for probes."""

import json
import os
import secrets
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from rest_framework.test import APIClient

from audit.models import SecurityEvent
from llm_admin.tests.test_settings import ROOT

PROXY, CLIENT, OTHER_CLIENT = "10.0.0.2", "203.0.113.9", "198.51.100.7"

# Production settings in a fresh process (as gunicorn would load them): what do requests see?
PROBE = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.test import Client, RequestFactory
    from audit.security import client_ip

    browser = Client()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    seen = {}
    for path in ("/", "/admin/", "/healthz", "/readyz"):
        plain = browser.get(path)
        with_headers = browser.get(path, headers=forged)
        seen[path] = {
            "plain": [plain.status_code, plain.get("Location")],
            "forwarded https": [with_headers.status_code, with_headers.get("Location")],
        }
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    seen["is_secure"] = request.is_secure()
    seen["client_ip"] = client_ip(request)
    print(json.dumps(seen))
    """
)


def production(**env) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "REDIS_URL"} | {
        "DJANGO_SETTINGS_MODULE": "llm_admin.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_switch_a_forged_https_header_is_still_redirected_and_not_secure():
    seen = production()

    for path in ("/", "/admin/"):
        assert seen[path]["plain"] == [301, f"https://testserver{path}"]
        assert seen[path]["forwarded https"] == [301, f"https://testserver{path}"]
    assert seen["is_secure"] is False
    assert seen["client_ip"] == PROXY


def test_with_the_switch_the_proxy_headers_are_honoured():
    seen = production(DJANGO_TRUST_PROXY_HEADERS="true")

    assert seen["/"]["plain"] == [301, "https://testserver/"]
    assert seen["/"]["forwarded https"] == [302, "/admin/"]
    assert seen["/admin/"]["forwarded https"] == [302, "/admin/login/?next=/admin/"]
    assert seen["is_secure"] is True
    assert seen["client_ip"] == CLIENT


@pytest.mark.parametrize("trusted", ["false", "true"])
def test_health_checks_answer_over_plain_http(trusted):
    seen = production(DJANGO_TRUST_PROXY_HEADERS=trusted)

    for path in ("/healthz", "/readyz"):
        assert seen[path]["plain"] == [200, None]
        assert seen[path]["forwarded https"] == [200, None]


# --- The client's address: security log, throttles, sign-in lockout -------------------------------


def bad_token(address: str, forwarded_for: str | None = None):
    headers = {"HTTP_AUTHORIZATION": "Bearer guess", "REMOTE_ADDR": address}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return APIClient(raise_request_exception=False).get("/api/v1/models", **headers)


@pytest.mark.django_db
def test_without_the_switch_a_forged_forwarded_for_changes_neither_the_log_nor_the_throttle_key():
    limit = settings.API_AUTH_FAILURE_LIMIT
    statuses = [bad_token(CLIENT, forwarded_for=f"192.0.2.{i}").status_code for i in range(limit + 1)]

    assert statuses == [401] * limit + [429]
    assert set(SecurityEvent.objects.values_list("ip_address", flat=True)) == {CLIENT}


@pytest.mark.django_db
@override_settings(TRUST_PROXY_HEADERS=True)
def test_with_the_switch_the_address_the_proxy_forwarded_is_logged_and_throttled():
    limit = settings.API_AUTH_FAILURE_LIMIT
    # The client may send its own X-Forwarded-For; the proxy appends the address it saw.
    statuses = [bad_token(PROXY, forwarded_for=f"192.0.2.{i}, {CLIENT}").status_code for i in range(limit + 1)]

    assert statuses == [401] * limit + [429]
    assert bad_token(PROXY, forwarded_for=OTHER_CLIENT).status_code == 401  # same proxy, another client
    assert set(SecurityEvent.objects.values_list("ip_address", flat=True)) == {CLIENT, OTHER_CLIENT}


@pytest.mark.django_db
@override_settings(TRUST_PROXY_HEADERS=True)
@pytest.mark.parametrize("forwarded_for", ["", "not-an-address", "203.0.113.9, ", "unknown"])
def test_with_the_switch_a_malformed_forwarded_for_means_the_proxys_own_address(forwarded_for):
    bad_token(PROXY, forwarded_for=forwarded_for)

    assert SecurityEvent.objects.get().ip_address == PROXY


@pytest.mark.django_db
@override_settings(TRUST_PROXY_HEADERS=True, AXES_ENABLED=True)
def test_with_the_switch_the_sign_in_lockout_is_per_forwarded_address():
    user = get_user_model().objects.create_user("staffer", password="right password 1", is_staff=True)

    def sign_in(password: str, client_address: str):
        return Client().post(
            "/admin/login/?next=/admin/",
            {"username": user.username, "password": password},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=client_address,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in("wrong password", CLIENT)

    assert sign_in("right password 1", CLIENT).status_code == 429
    assert sign_in("right password 1", OTHER_CLIENT).status_code == 302
