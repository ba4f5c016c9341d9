"""Throttling of the API (issue 10, item 5): failed tokens are throttled per client address
(429 with Retry-After before the token is looked at), each client has a rate limit, and a
flood grows the security log by a bounded number of rows whose counts add up."""

import datetime
import os
import subprocess
import sys
import textwrap
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import ServiceToken
from accounts.services import api_token_create
from audit.choices import SecurityEventType
from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db

# Half a minute into a five-minute window (the default API_AUTH_FAILURE_WINDOW is 300 s).
NOW = datetime.datetime(2026, 12, 1, 12, 0, 30, tzinfo=datetime.UTC)
MODELS = "/api/v1/models"
HERE, ELSEWHERE = "192.0.2.10", "192.0.2.20"


class Clock:
    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock():
    """A stopped clock for everything that reads django.utils.timezone.now (the throttle
    windows and the security log's minutes), so no window or minute ends mid-test."""
    stopped = Clock(NOW)
    with mock.patch("django.utils.timezone.now", stopped):
        yield stopped


def get(path=MODELS, *, token=None, address=HERE, client=None, **headers):
    client = client or APIClient(raise_request_exception=False)
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(path, REMOTE_ADDR=address, **headers)


def logged() -> list[tuple[str, str, str, int]]:
    """The security log's rows, but for the tokens the test made itself."""
    rows = SecurityEvent.objects.exclude(event=SecurityEventType.TOKEN_CREATED)
    return sorted(rows.values_list("event", "ip_address", "username", "count"))


# --- Failed tokens, per address -----------------------------------------------------------


def test_a_thousand_bad_tokens_from_one_address_get_the_limit_of_401s_then_429s(clock):
    limit = settings.API_AUTH_FAILURE_LIMIT

    responses = [get(token=f"guess-{i}") for i in range(1000)]

    statuses = [response.status_code for response in responses]
    assert statuses == [401] * limit + [429] * (1000 - limit)
    throttled = responses[-1]
    assert throttled.json().keys() == {"detail"}
    assert "Too many failed tokens" in throttled.json()["detail"]
    assert throttled["Retry-After"] == "270"  # the window of 300 s started 30 s ago
    # Two rows for 1,000 requests (one per event type, address and minute), counting all of them.
    assert logged() == [("auth_throttled", HERE, "", 1000 - limit), ("token_rejected", HERE, "", limit)]
    assert sum(SecurityEvent.objects.values_list("count", flat=True)) == 1000


def test_the_throttled_address_is_refused_before_its_token_is_looked_at(clock, make_user):
    token, key = api_token_create(user=make_user("viewer"))
    for i in range(settings.API_AUTH_FAILURE_LIMIT):
        get(token=f"guess-{i}")

    response = get(token=key)

    assert response.status_code == 429
    assert ServiceToken.objects.get(pk=token.pk).last_used_at is None  # never looked up


def test_another_address_is_not_throttled(clock, make_user):
    _, key = api_token_create(user=make_user("viewer"))
    for i in range(settings.API_AUTH_FAILURE_LIMIT + 5):
        get(token=f"guess-{i}", address=HERE)

    assert get(token="guess", address=ELSEWHERE).status_code == 401
    assert get(token=key, address=ELSEWHERE).status_code == 200
    assert get(token="guess", address=HERE).status_code == 429


def test_the_address_may_try_again_when_the_window_ends(clock):
    for i in range(settings.API_AUTH_FAILURE_LIMIT):
        get(token=f"guess-{i}")
    assert get(token="guess").status_code == 429

    clock.now += datetime.timedelta(seconds=270)

    assert get(token="guess").status_code == 401


@override_settings(API_AUTH_FAILURE_LIMIT=3, API_AUTH_FAILURE_WINDOW=60)
def test_the_limit_and_the_window_come_from_the_settings(clock):
    statuses = [get(token=f"guess-{i}").status_code for i in range(5)]

    assert statuses == [401, 401, 401, 429, 429]
    assert get(token="guess")["Retry-After"] == "30"


def test_requests_without_a_token_are_not_counted_as_failed_tokens(clock):
    for _ in range(settings.API_AUTH_FAILURE_LIMIT + 5):
        assert get().status_code == 401

    assert get(token="guess").status_code == 401
    assert logged() == [
        ("permission_denied", HERE, "", settings.API_AUTH_FAILURE_LIMIT + 5),
        ("token_rejected", HERE, "", 1),
    ]


def test_the_openai_listing_answers_429_in_its_own_error_shape(clock):
    for i in range(settings.API_AUTH_FAILURE_LIMIT):
        assert get("/v1/models", token=f"guess-{i}").status_code == 401

    response = get("/v1/models", token="guess")

    assert response.status_code == 429
    assert response["Retry-After"] == "270"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert response.json()["error"].keys() == {"message", "type", "param", "code"}


# --- Requests per client (API_RATE_LIMIT) ------------------------------------------------------


def rate(value):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": value}})


@rate("3/min")
def test_a_token_over_its_rate_gets_429_and_other_tokens_do_not(clock, make_user):
    reader = make_user("viewer", username="busy-reader")
    _, key = api_token_create(user=reader)
    _, other_key = api_token_create(user=make_user("viewer"))

    responses = [get(token=key) for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[-1]["Retry-After"] == "30"  # the minute started 30 s ago
    assert responses[-1].json().keys() == {"detail"}
    assert get(token=other_key).status_code == 200
    assert logged() == [("rate_limited", HERE, "busy-reader", 2)]
    clock.now += datetime.timedelta(seconds=30)
    assert get(token=key).status_code == 200


@rate("3/min")
def test_the_rate_is_per_token_not_per_address(clock, make_user):
    _, key = api_token_create(user=make_user("viewer"))

    statuses = [get(token=key, address=f"192.0.2.{i}").status_code for i in range(5)]

    assert statuses == [200, 200, 200, 429, 429]


@rate("3/min")
def test_an_admin_session_is_rate_limited_per_user(clock, make_user):
    browser = Client()
    browser.force_login(make_user("viewer", is_staff=True))

    statuses = [browser.get(MODELS, REMOTE_ADDR=HERE).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


@rate(None)
def test_no_rate_limit_when_it_is_off(clock, make_user):
    _, key = api_token_create(user=make_user("viewer"))

    assert {get(token=key).status_code for _ in range(30)} == {200}


@pytest.mark.parametrize(("value", "expected"), [("1000/min", "1000/min"), ("none", None), ("OFF", None), ("", None)])
def test_api_rate_limit_is_read_from_the_environment(value, expected):
    from llm_admin.settings import rate_limit

    assert rate_limit(value) == expected


@pytest.mark.parametrize("value", ["1000", "fast", "10/fortnight", "-1/min", "0/min", "1.5/s", "/min"])
def test_a_malformed_api_rate_limit_stops_the_start(value):
    from django.core.exceptions import ImproperlyConfigured

    from llm_admin.settings import rate_limit

    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        rate_limit(value)


# --- The cache down: served, unthrottled -----------------------------------------------------


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "llm_admin.cache.CircuitBreakerRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there: connections are refused
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
)
@rate("3/min")
def test_with_the_cache_down_requests_are_served_not_refused(clock, make_user):
    _, key = api_token_create(user=make_user("viewer"))

    bad = [get(token=f"guess-{i}").status_code for i in range(settings.API_AUTH_FAILURE_LIMIT + 5)]
    good = [get(token=key).status_code for _ in range(5)]

    assert set(bad) == {401}  # fail open: no counts, so no 429 (and no 500)
    assert set(good) == {200}


# --- Shared by every process using the same Redis ---------------------------------------------

OTHER_PROCESS = textwrap.dedent(
    """
    import datetime, sys
    from unittest import mock
    import django
    django.setup()
    from django.conf import settings
    from django.test import RequestFactory
    from accounts.throttling import auth_failure_count

    now = datetime.datetime.fromisoformat(sys.argv[1])
    with mock.patch("django.utils.timezone.now", lambda: now):
        request = RequestFactory().get("/api/v1/models", REMOTE_ADDR=sys.argv[2])
        for _ in range(settings.API_AUTH_FAILURE_LIMIT):
            auth_failure_count(request)
    """
)


@pytest.mark.redis
def test_failed_tokens_counted_in_another_process_throttle_this_one(clock):
    """Another process (as another gunicorn worker would) counts the failures of an address;
    this process, sharing Redis, refuses that address at once."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings", "REDIS_URL": settings.REDIS_URL}
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, NOW.isoformat(), HERE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    assert get(token="guess", address=HERE).status_code == 429
    assert get(token="guess", address=ELSEWHERE).status_code == 401


@pytest.mark.parametrize("window", ["0", "-5"])
def test_a_failure_window_under_a_second_stops_the_start(window):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | {
        "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings",
        "API_AUTH_FAILURE_WINDOW": window,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "API_AUTH_FAILURE_WINDOW" in result.stderr
