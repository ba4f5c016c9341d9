"""The admin's front page: exact counts for a catalog small enough to count, estimates from
PostgreSQL's statistics past EXACT_COUNT_LIMIT, so that a write never makes the next viewer
wait for a scan of the models table."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common import estimates
from models_registry.models import AIModel
from models_registry.selectors import dashboard_summary, upcoming_deprecations
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

SCANS = re.compile(r"GROUP BY|COUNT\(", re.IGNORECASE)


@pytest.fixture
def catalog():
    big, small = ProviderFactory(slug="big"), ProviderFactory(slug="small")
    AIModelFactory.create_batch(30, provider=big, status="active", model_type="chat")
    AIModelFactory.create_batch(8, provider=small, status="deprecated", model_type="embedding")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AIModel._meta.db_table}")
    return big, small


def breakdowns(summary: dict) -> dict:
    return {name: summary[name] for name in ("total", "by_status", "by_type", "by_provider")}


def test_a_catalog_under_the_limit_is_counted_exactly(catalog):
    summary = dashboard_summary()

    assert not summary["estimated"]
    assert breakdowns(summary) == {
        "total": 38,
        "by_status": [("active", 30, "active"), ("deprecated", 8, "deprecated")],
        "by_type": [("chat", 30, "chat"), ("embedding", 8, "embedding")],
        "by_provider": [("big", 30, "big"), ("small", 8, "small")],
    }


@pytest.mark.postgres
def test_past_the_limit_the_counts_come_from_statistics_without_a_scan(catalog, monkeypatch, client, make_user):
    exact = breakdowns(dashboard_summary())  # (counted, under the real limit)
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 10)
    client.force_login(make_user("viewer", is_staff=True))

    with CaptureQueriesContext(connection) as queries:
        summary = dashboard_summary()
    AIModelFactory(provider=catalog[1])  # a write moves the catalog version
    with CaptureQueriesContext(connection) as after_a_write:
        dashboard_summary()
    page = client.get(reverse("admin:index")).content.decode()

    assert summary["estimated"]
    assert breakdowns(summary) == exact  # ANALYZE sampled every row of so small a table
    assert [q["sql"] for q in [*queries, *after_a_write] if SCANS.search(q["sql"])] == []
    assert re.search(r"about 38</span> models", page)


def test_the_deprecations_listed_are_the_soonest_not_switched_off():
    today = timezone.localdate()
    soon, late, past = (today + datetime.timedelta(days=days) for days in (30, 200, -5))
    expected = [
        AIModelFactory(name="past", deprecation_date=past, status="deprecated"),
        AIModelFactory(name="soon", deprecation_date=soon),
    ]
    AIModelFactory(name="later", deprecation_date=late)
    AIModelFactory(name="off", deprecation_date=past, status="inactive")
    AIModelFactory(name="undated")

    assert list(upcoming_deprecations(today)) == expected
    assert [row["name"] for row in dashboard_summary()["deprecations"]] == ["past", "soon"]
