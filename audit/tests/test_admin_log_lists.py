"""The audit and security logs' admin lists at scale: filters and dates without a DISTINCT
over the log, and a count that stops at EXACT_COUNT_LIMIT and says "about" past it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from audit.security import record_security_event
from audit.tests.factories import AuditEntryFactory
from common import estimates

pytestmark = pytest.mark.django_db

AUDIT_LOG = reverse("admin:audit_auditentry_changelist")
SECURITY_LOG = reverse("admin:audit_securityevent_changelist")
FILTERED = [
    "",
    "user=someone",
    "object_type=aimodel",
    "action=update",
    "source=api",
    "timestamp__gte=2020-01-01+00%3A00%3A00%2B00%3A00&timestamp__lt=2100-01-01+00%3A00%3A00%2B00%3A00",
    "q=model-1",
]
WHOLE_LOG_READS = re.compile(r"DISTINCT|DATE_TRUNC|django_datetime_trunc|django_date_trunc", re.IGNORECASE)


@pytest.fixture
def administrator(client, make_user):
    client.force_login(make_user("admin", username="an-administrator", is_staff=True))
    return client


@pytest.mark.parametrize("query", FILTERED)
def test_the_audit_log_lists_and_filters_without_reading_the_whole_log(administrator, query):
    AuditEntryFactory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        response = administrator.get(f"{AUDIT_LOG}?{query}")

    assert response.status_code == 200
    assert [q["sql"] for q in queries if WHOLE_LOG_READS.search(q["sql"])] == []


def test_the_security_log_lists_without_reading_the_whole_log(administrator):
    record_security_event("permission_denied", username="someone")

    with CaptureQueriesContext(connection) as queries:
        response = administrator.get(SECURITY_LOG)

    assert response.status_code == 200
    assert [q["sql"] for q in queries if WHOLE_LOG_READS.search(q["sql"])] == []


def test_the_filters_list_the_accounts_and_the_audited_object_types(administrator, make_user):
    make_user("editor", username="never-changed-anything")
    AuditEntryFactory(object_type="aimodel", username="someone")
    AuditEntryFactory(object_type="provider", username="someone")

    page = administrator.get(AUDIT_LOG).content.decode()
    only_providers = administrator.get(f"{AUDIT_LOG}?object_type=provider").context["cl"].result_list

    assert "?user=never-changed-anything" in page
    for object_type in ["aimodel", "modelindustryprofile", "provider", "industry", "modeldependency", "history"]:
        assert f"?object_type={object_type}" in page
    assert [entry.object_type for entry in only_providers] == ["provider"]


def test_a_list_is_counted_exactly_up_to_the_limit(administrator, monkeypatch):
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 12)
    AuditEntryFactory.create_batch(12)

    response = administrator.get(AUDIT_LOG)

    assert response.context["cl"].result_count == 12
    assert not response.context["cl"].paginator.count_is_estimate
    assert re.search(r"12 audit entries", response.content.decode())
    assert not re.search(r"about \d", response.content.decode())


def test_past_the_limit_postgresql_estimates_and_sqlite_counts(administrator, monkeypatch):
    """SQLite has no planner estimates: it counts every list exactly."""
    AuditEntryFactory.create_batch(30, username="someone")
    AuditEntryFactory.create_batch(3, username="someone-else")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditentry")
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 10)

    everything = administrator.get(AUDIT_LOG)
    searched = administrator.get(f"{AUDIT_LOG}?q=someone")
    few = administrator.get(f"{AUDIT_LOG}?user=someone-else")

    if connection.vendor == "postgresql":
        for response in (everything, searched):
            assert response.context["cl"].paginator.count_is_estimate
            assert response.context["cl"].result_count > 10
            assert re.search(r"about \d+ audit entries", response.content.decode())
        assert re.search(r"about \d+ results", searched.content.decode())
    else:
        assert everything.context["cl"].result_count == searched.context["cl"].result_count == 33
        assert not re.search(r"about \d", everything.content.decode() + searched.content.decode())
    assert few.context["cl"].result_count == 3
    assert not few.context["cl"].paginator.count_is_estimate


@pytest.mark.postgres
def test_one_users_entries_newest_first_are_read_in_order_from_their_index():
    AuditEntry.objects.bulk_create(AuditEntryFactory.build(username=f"user-{number % 25}") for number in range(5_000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditentry")

    plan = AuditEntry.objects.filter(username="user-3").order_by("-timestamp", "-id")[:50].explain()

    assert "audit_user_newest_first" in plan, plan
    assert "Sort" not in plan, plan
