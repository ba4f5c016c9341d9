"""What GET /metrics says about requests, the cache and the webhook queue (docs/operators.md,
"Metrics"): each request's latency under its view's URL name and method, its status, its
database statements and their time; cache lookups; the queue as the database holds it."""

import datetime

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from llm_admin.cache import CacheUnavailable, CircuitBreaker
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from observability.tests.scraping import growth
from webhooks.choices import DeliveryState
from webhooks.dispatch import newest_position
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db

LATENCY = "llm_admin_http_request_duration_seconds"
RESPONSES = "llm_admin_http_responses_total"
QUERIES = "llm_admin_db_queries_per_request"
DATABASE_SECONDS = "llm_admin_db_seconds_per_request"
LOOKUPS = "llm_admin_cache_lookups_total"


def test_a_request_is_timed_counted_and_its_statements_counted_under_its_view(api, scrape):
    AIModelFactory.create_batch(3)
    before = scrape()

    with CaptureQueriesContext(connection) as statements:
        response = api.get("/api/v1/models")
    ran = len(statements)  # now: the next request empties the connection's log
    after = scrape()

    assert response.status_code == 200
    view = {"view": "api:aimodel-list"}
    assert growth(before, after, f"{LATENCY}_count", method="GET", **view) == 1
    assert growth(before, after, f"{LATENCY}_sum", method="GET", **view) > 0
    assert growth(before, after, f"{LATENCY}_bucket", method="GET", le="+Inf", **view) == 1
    assert growth(before, after, RESPONSES, method="GET", status="200", **view) == 1
    assert growth(before, after, f"{QUERIES}_count", **view) == 1
    assert growth(before, after, f"{QUERIES}_sum", **view) == ran > 0
    assert growth(before, after, f"{DATABASE_SECONDS}_count", **view) == 1
    assert growth(before, after, f"{DATABASE_SECONDS}_sum", **view) > 0


def test_each_status_is_counted_apart(api, scrape):
    before = scrape()

    api.get("/api/v1/models/999999")
    api.get("/api/v1/models/999999")
    Client().get("/api/v1/models")
    after = scrape()

    view = {"view": "api:aimodel-detail", "method": "GET"}
    assert growth(before, after, RESPONSES, status="404", **view) == 2
    assert growth(before, after, RESPONSES, status="401", view="api:aimodel-list", method="GET") == 1
    assert growth(before, after, f"{LATENCY}_count", **view) == 2


def test_labels_name_views_never_paths_so_no_model_name_becomes_a_label(api, scrape, make_user):
    """A name in a URL would make a series per model (and put the catalog in the metrics)."""
    secret = "zz-unlisted-model-4711"
    model = AIModelFactory(name=secret)
    before = scrape()

    api.get(f"/v1/models/{secret}")
    api.get(f"/api/v1/models/{model.pk}")
    api.get(f"/api/v1/no-such-route/{secret}")
    Client().get(f"/{secret}")
    Client().get(f"/admin/models_registry/aimodel/{model.pk}/change/")
    api.generic(f"BREW-{secret}", "/api/v1/models")
    after = scrape()

    assert secret not in after.text
    assert growth(before, after, RESPONSES, view="openai-model", method="GET", status="200") == 1
    assert growth(before, after, RESPONSES, view="api:aimodel-detail", method="GET", status="200") == 1
    assert (
        growth(before, after, RESPONSES, view="api:llm_admin.api.errors.api_not_found", method="GET", status="404") == 1
    )
    assert growth(before, after, RESPONSES, view="unmatched", method="GET", status="404") == 1
    assert (
        growth(before, after, RESPONSES, view="admin:models_registry_aimodel_change", method="GET", status="302") == 1
    )
    assert growth(before, after, f"{LATENCY}_count", view="api:aimodel-list", method="other") == 1


def test_a_scrape_is_not_measured_as_a_request(scrape):
    scrape()
    scrape()

    assert not any(
        labels for name, labels in scrape().samples if name.startswith(LATENCY) and ("view", "metrics") in labels
    )


def test_a_streamed_response_is_measured_to_its_last_chunk_with_the_statements_it_ran_meanwhile(api, scrape):
    ProviderFactory.create_batch(3)  # audited: rows for the CSV
    view = {"view": "api:auditentry-list"}
    before = scrape()

    with CaptureQueriesContext(connection) as answering:
        response = api.get("/api/v1/audit", {"format": "csv"})
    # Read without a request (a scrape would be one more): this process's registry.
    requests_so_far = REGISTRY.get_sample_value(f"{LATENCY}_count", {"method": "GET", **view}) or 0
    with CaptureQueriesContext(connection) as streaming:
        body = b"".join(response.streaming_content)
    ran = len(answering) + len(streaming)
    read_rows_meanwhile = any("audit_auditentry" in query["sql"] for query in streaming.captured_queries)
    after = scrape()

    assert response.streaming and body.count(b"\n") >= 4
    assert requests_so_far == before.value(f"{LATENCY}_count", method="GET", **view)  # not over yet
    assert growth(before, after, f"{LATENCY}_count", method="GET", **view) == 1
    assert read_rows_meanwhile
    assert growth(before, after, f"{QUERIES}_sum", **view) == ran


def test_cache_lookups_count_hits_and_misses(api, scrape):
    AIModelFactory(name="listed")
    before = scrape()

    first = api.get("/api/v1/models/options")
    second = api.get("/api/v1/models/options")
    after = scrape()

    assert first.status_code == second.status_code == 200
    assert growth(before, after, LOOKUPS, cache="model_options", result="miss") == 1
    assert growth(before, after, LOOKUPS, cache="model_options", result="hit") == 1


def test_the_dashboard_cache_is_counted_too(client, scrape, make_user):
    client.force_login(make_user("admin", is_staff=True))
    before = scrape()

    client.get("/admin/")
    client.get("/admin/")
    after = scrape()

    assert growth(before, after, LOOKUPS, cache="dashboard", result="miss") == 1
    assert growth(before, after, LOOKUPS, cache="dashboard", result="hit") == 1


def test_the_circuit_breaker_counts_failures_and_skipped_calls(scrape):
    breaker = CircuitBreaker("redis://test-breaker")
    before = scrape()

    breaker.failed(ConnectionError("refused"))
    for _ in range(3):
        with pytest.raises(CacheUnavailable):
            breaker.before_call()
    after = scrape()

    assert growth(before, after, "llm_admin_cache_unavailable_total", reason="error") == 1
    assert growth(before, after, "llm_admin_cache_unavailable_total", reason="circuit_open") == 3


def test_the_webhook_queue_is_read_from_the_database_when_scraped(scrape):
    subscription, _ = subscription_create(actor=None, name="s", url="https://hooks.example.com/x")
    subscription_create(actor=None, name="off", url="https://hooks.example.com/y", active=False)
    now = timezone.now()

    def owe(event_id, *, due_in: float, state=DeliveryState.PENDING):
        WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=event_id,
            event_type="model.created",
            state=state,
            next_attempt_at=now + datetime.timedelta(seconds=due_in),
        )

    owe("e1", due_in=-90)
    owe("e2", due_in=-5)
    owe("e3", due_in=3600)
    owe("e4", due_in=-500, state=DeliveryState.DELIVERED)
    owe("e5", due_in=-500, state=DeliveryState.FAILED)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(cursor=0)  # every event yet to dispatch

    exposition = scrape()

    assert exposition.value("llm_admin_webhook_deliveries_pending", state="due") == 2
    assert exposition.value("llm_admin_webhook_deliveries_pending", state="waiting") == 1
    assert 90 <= exposition.value("llm_admin_webhook_oldest_due_seconds") < 150
    assert exposition.value("llm_admin_webhook_dispatch_lag_events") == newest_position() > 0


def test_an_empty_queue_reads_zero(scrape):
    exposition = scrape()

    assert exposition.has("llm_admin_webhook_deliveries_pending", state="due")
    assert exposition.value("llm_admin_webhook_deliveries_pending", state="due") == 0
    assert exposition.value("llm_admin_webhook_deliveries_pending", state="waiting") == 0
    assert exposition.value("llm_admin_webhook_oldest_due_seconds") == 0
    assert exposition.value("llm_admin_webhook_dispatch_lag_events") == 0


def test_a_scrape_reads_the_queue_in_a_constant_number_of_statements(scrape, django_assert_max_num_queries):
    subscription, _ = subscription_create(actor=None, name="s", url="https://hooks.example.com/x")
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=subscription, event_id=f"e{i}", event_type="model.created") for i in range(200)
    )

    with django_assert_max_num_queries(3):
        exposition = scrape()

    assert exposition.value("llm_admin_webhook_deliveries_pending", state="due") == 200


def test_the_queue_unreadable_leaves_the_other_metrics_answered(scrape, monkeypatch):
    def unreadable():
        raise OperationalError("the database is down")

    monkeypatch.setattr("webhooks.selectors.queue_depth", unreadable)

    exposition = scrape()

    assert not exposition.has("llm_admin_webhook_deliveries_pending", state="due")
    assert "llm_admin_http_request_duration_seconds" in exposition.text
