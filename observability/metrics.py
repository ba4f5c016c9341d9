"""The application's Prometheus metrics, and what `GET /metrics` exposes (docs/operators.md,
"Metrics").

Labels are bounded: a request is labelled by its view's URL name (`api:aimodel-detail`,
`openai-model`), never by its path, so a model's name in a URL never becomes a label; a
method outside the standard ones is `other`; a request no route matched is `unmatched`.

Under gunicorn several worker processes each count their own requests. With
PROMETHEUS_MULTIPROC_DIR set (llm_admin/gunicorn.conf.py sets it), prometheus_client writes
every process's values to files there and a scrape, whichever worker answers it, adds them
up, those of workers that have exited included (their counts happened). Without it (the
development server, tests) the process's own registry is exposed.

The webhook queue is read from the database at scrape time, not counted as it changes: the
worker runs in other processes, and the database is the queue.
"""

import logging
import os

from django.db import DatabaseError
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from webhooks import selectors as webhook_selectors

logger = logging.getLogger(__name__)
# No `_created` series beside every counter and histogram: they double the exposition, and
# Prometheus reads a restart from a counter's drop anyway.
disable_created_metrics()

UNMATCHED = "unmatched"  # the view label of a request no route matched (or answered before routing)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

REQUEST_SECONDS = Histogram(
    "llm_admin_http_request_duration_seconds",
    "Seconds from a request's arrival to its response's last byte, by view (URL name) and method.",
    ["view", "method"],
    # Up to a minute: a change feed read may wait 30 s for a change (wait=).
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RESPONSES = Counter(
    "llm_admin_http_responses", "Responses, by view (URL name), method and status code.", ["view", "method", "status"]
)
QUERIES = Histogram(
    "llm_admin_db_queries_per_request",
    "Database statements a request ran, by view (URL name).",
    ["view"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 500, 1000),
)
DATABASE_SECONDS = Histogram(
    "llm_admin_db_seconds_per_request",
    "Seconds a request spent in database statements, by view (URL name).",
    ["view"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def method_label(method: str | None) -> str:
    method = (method or "").upper()
    return method if method in METHODS else OTHER_METHOD


class WebhookQueueCollector:
    """The worker's queue as the database holds it, read when scraped (three indexed reads)."""

    def collect(self):
        try:
            depth = webhook_selectors.queue_depth()
        except DatabaseError:
            # Every other metric is still worth answering (all the more while the database fails).
            logger.warning("metrics: the webhook queue could not be read", exc_info=True)
            return
        pending = GaugeMetricFamily(
            "llm_admin_webhook_deliveries_pending",
            "Webhook deliveries owed, by state: due (a worker may send it now) or waiting (a retry after "
            "a backoff, or claimed by a worker sending it).",
            labels=["state"],
        )
        pending.add_metric(["due"], depth.due)
        pending.add_metric(["waiting"], depth.waiting)
        yield pending
        yield GaugeMetricFamily(
            "llm_admin_webhook_oldest_due_seconds",
            "How long the longest-due webhook delivery has been due (0: none is due).",
            value=depth.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "llm_admin_webhook_dispatch_lag_events",
            "Change events committed after the cursor of the active webhook subscription furthest behind: "
            "events the worker's dispatcher has yet to turn into deliveries.",
            value=depth.events_behind,
        )


class Exposition:
    """What one scrape collects: this process's metrics, or with PROMETHEUS_MULTIPROC_DIR every
    server process's, and the webhook queue."""

    def __init__(self):
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.collectors = [
            MultiProcessCollector(None, path=directory) if directory else REGISTRY,
            WebhookQueueCollector(),
        ]

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()
