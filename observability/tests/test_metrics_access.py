"""GET /metrics answers the scraper only (docs/contract.md §7 "Scale"): a caller presenting
METRICS_TOKEN as a bearer token, or coming from an address in METRICS_ALLOWED_IPS. Anyone
else gets a 403, recorded in the security log like every refusal (and counted, not
repeated, when it floods)."""

import datetime
import ipaddress
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from audit.choices import SecurityEventType
from audit.models import SecurityEvent
from observability.tests.scraping import TOKEN

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 12, 0, 30, tzinfo=datetime.UTC)
REFUSAL = {
    "detail": "Metrics are for the scraper: present METRICS_TOKEN as a bearer token, or scrape from an allowed address."
}


def refusals() -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(event=SecurityEventType.PERMISSION_DENIED, path="/metrics"))


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def allowed(settings):
    settings.METRICS_ALLOWED_IPS = (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("2001:db8::7/128"))


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", TOKEN, "Bearer"],
    ids=["none", "wrong", "longer", "shorter", "other-scheme", "no-scheme", "empty"],
)
def test_a_scrape_without_the_token_is_refused_and_logged(client, token, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == REFUSAL
    [event] = refusals()
    assert (event.method, event.ip_address, event.request_id) == ("GET", "127.0.0.1", response["X-Request-ID"])
    assert event.detail == {"status": 403, "view": "MetricsView"}


def test_with_no_token_configured_no_token_is_accepted(client, settings):
    settings.METRICS_TOKEN = ""

    for authorization in ("Bearer ", "Bearer  ", "Bearer x"):
        assert client.get("/metrics", headers={"Authorization": authorization}).status_code == 403
    assert len(refusals()) == 1 and refusals()[0].count == 3


def test_the_token_is_compared_in_constant_time(client, token):
    with mock.patch("observability.views.hmac.compare_digest", wraps=__import__("hmac").compare_digest) as compare:
        client.get("/metrics", headers={"Authorization": "Bearer guess"})

    compare.assert_called_once_with(b"guess", TOKEN.encode())


def test_the_token_gets_the_metrics_in_prometheus_text_format(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"# TYPE llm_admin_http_request_duration_seconds histogram" in response.content
    assert refusals() == []


def test_a_scraper_that_asks_for_openmetrics_gets_it(client, token):
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"  # Prometheus's

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Accept": accept})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.endswith(b"# EOF\n")


@pytest.mark.parametrize("accept", ["text/plain", "image/png", "application/openmetrics-text"])
def test_a_refusal_is_json_whatever_the_scraper_accepts(client, token, accept):
    response = client.get("/metrics", headers={"Accept": accept})

    assert (response.status_code, response.json()) == (403, REFUSAL)


@pytest.mark.parametrize("address", ["10.20.0.1", "10.20.255.254", "2001:db8::7"])
def test_an_allowed_address_needs_no_token(client, allowed, address):
    response = client.get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 200
    assert refusals() == []


@pytest.mark.parametrize("address", ["10.21.0.1", "127.0.0.1", "2001:db8::8"])
def test_an_address_not_listed_is_refused_and_logged(client, allowed, address):
    response = client.get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 403
    [event] = refusals()
    assert event.ip_address == address


def test_behind_a_trusted_proxy_the_address_it_appends_is_the_one_checked(client, allowed, settings):
    settings.TRUST_PROXY_HEADERS = True

    through_proxy = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "10.20.3.4"})
    forged_first = client.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "10.20.3.4, 198.51.100.9"}
    )

    assert through_proxy.status_code == 200
    assert forged_first.status_code == 403
    assert [event.ip_address for event in refusals()] == ["198.51.100.9"]


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(client, allowed):
    response = client.get("/metrics", REMOTE_ADDR="198.51.100.9", headers={"X-Forwarded-For": "10.20.3.4"})

    assert response.status_code == 403
    assert [event.ip_address for event in refusals()] == ["198.51.100.9"]


def test_a_flood_of_refused_scrapes_is_one_counted_row(client, token):
    with mock.patch("django.utils.timezone.now", lambda: NOW):
        statuses = {
            client.get("/metrics", headers={"Authorization": f"Bearer guess-{i}"}).status_code for i in range(50)
        }

    assert statuses == {403}
    [event] = refusals()
    assert event.count == 50


def test_a_refused_scrape_while_the_database_is_down_is_a_503(token):
    """The refusal cannot be recorded: 503 with Retry-After (as documented), not a 500."""
    with (
        mock.patch("audit.security.SecurityEvent.save", side_effect=OperationalError("down")),
        mock.patch("audit.security._insert_or_count", side_effect=OperationalError("down")),
    ):
        response = Client(raise_request_exception=False).get("/metrics")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["detail"] == "The database cannot be reached; please retry."


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_method_metrics_does_not_have_is_a_405_for_anyone(client, token, method):
    response = getattr(client, method)("/metrics")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert refusals() == []
