"""Repeated identical security events share one row (issue 10, item 5): one row per event
type, client address, user and minute, with a count, so a flood cannot grow the log
faster than a set bound; the row stays append-only in every other respect."""

import datetime
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from accounts.services import api_token_create
from audit.choices import SecurityEventType
from audit.models import AppendOnlyError, SecurityEvent
from audit.security import record_security_event

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 1, 12, 0, 5, tzinfo=datetime.UTC)


def at(moment: datetime.datetime):
    return mock.patch("django.utils.timezone.now", lambda: moment)


def refused(path="/api/v1/models", address="192.0.2.1", user=None, event=SecurityEventType.TOKEN_REJECTED, **detail):
    request = RequestFactory().get(path, REMOTE_ADDR=address)
    return record_security_event(event, request=request, user=user, detail=detail)


def rows():
    return list(SecurityEvent.objects.order_by("id"))


def test_identical_events_in_one_minute_are_one_row_with_a_count():
    with at(NOW):
        first = refused("/api/v1/models", reason="Invalid token.")
    with at(NOW + datetime.timedelta(seconds=30)):
        second = refused("/api/v1/providers", reason="Token expired.")
    with at(NOW + datetime.timedelta(seconds=54)):
        third = refused("/v1/models")

    (row,) = rows()
    assert first == second == third == row.pk
    assert row.count == 3
    assert (row.timestamp, row.last_seen_at) == (NOW, NOW + datetime.timedelta(seconds=54))
    # The details are the first occurrence's.
    assert (row.path, row.detail, row.ip_address) == ("/api/v1/models", {"reason": "Invalid token."}, "192.0.2.1")


def test_another_minute_address_user_or_event_type_is_another_row(make_user):
    user = make_user("viewer")
    with at(NOW):
        refused()
        refused(address="192.0.2.2")
        refused(address="2001:db8::1")
        refused(event=SecurityEventType.PERMISSION_DENIED)
        refused(event=SecurityEventType.PERMISSION_DENIED, user=user)
        refused(event=SecurityEventType.PERMISSION_DENIED, user=user)
    with at(NOW + datetime.timedelta(minutes=1)):
        refused()

    assert [(r.event, r.ip_address, r.username, r.count) for r in rows()] == [
        ("token_rejected", "192.0.2.1", "", 1),
        ("token_rejected", "192.0.2.2", "", 1),
        ("token_rejected", "2001:db8::1", "", 1),
        ("permission_denied", "192.0.2.1", "", 1),
        ("permission_denied", "192.0.2.1", user.username, 2),
        ("token_rejected", "192.0.2.1", "", 1),
    ]


def test_a_flood_from_one_address_is_bounded_by_types_and_minutes():
    events = [SecurityEventType.TOKEN_REJECTED, SecurityEventType.PERMISSION_DENIED]
    for minute in range(3):
        for second in range(0, 60, 2):
            with at(NOW.replace(second=0) + datetime.timedelta(minutes=minute, seconds=second)):
                for event in events:
                    refused(event=event, path=f"/api/v1/x{second}")

    assert SecurityEvent.objects.count() == len(events) * 3
    assert {r.count for r in rows()} == {30}


def test_token_creation_and_revocation_are_never_merged(make_user):
    user = make_user("viewer")
    with at(NOW):
        api_token_create(user=user, name="one")
        api_token_create(user=user, name="two")

    created = SecurityEvent.objects.filter(event=SecurityEventType.TOKEN_CREATED)
    assert [r.count for r in created] == [1, 1]


def test_a_counted_row_is_still_refused_any_change_through_the_orm():
    refused()
    refused()
    row = SecurityEvent.objects.get()

    row.count = 1
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        SecurityEvent.objects.filter(pk=row.pk).update(count=100)

    assert SecurityEvent.objects.get().count == 2


# --- Where operators read it -------------------------------------------------------------


def test_the_api_shows_the_count_and_when_it_was_last_seen(client, make_user):
    with at(NOW):
        refused()
    with at(NOW + datetime.timedelta(seconds=20)):
        refused()
    client.force_login(make_user("admin"))

    (entry,) = client.get("/api/v1/audit/security?event=token_rejected").json()["results"]

    assert entry["count"] == 2
    assert entry["timestamp"] == "2026-12-01T12:00:05Z"
    assert entry["last_seen_at"] == "2026-12-01T12:00:25Z"


def test_the_admin_security_log_shows_the_count(client, django_user_model):
    for _ in range(7):
        refused()
    client.force_login(django_user_model.objects.create_superuser("root", password="x-long-password"))

    page = client.get("/admin/audit/securityevent/").content.decode()

    assert "column-count" in page
    assert '<td class="field-count">7</td>' in page


# --- PostgreSQL: the trigger lets exactly the count through ------------------------------


def run_sql(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_postgres_lets_the_count_go_up_through_the_upsert():
    with at(NOW):
        refused()
    with at(NOW + datetime.timedelta(seconds=3)):
        refused()

    row = SecurityEvent.objects.get()
    assert (row.count, row.last_seen_at) == (2, NOW + datetime.timedelta(seconds=3))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "assignment",
    [
        "count = count + 1, path = '/forged'",
        "count = count + 1, detail = '{}'::jsonb",
        "count = count + 1, username = 'someone-else'",
        "count = count + 1, aggregation_key = NULL",
        "count = count - 1",
        "count = count",
        "last_seen_at = last_seen_at + interval '1 hour'",
        "count = count + 1, last_seen_at = last_seen_at - interval '1 hour'",
        "count = count + 1, timestamp = timestamp + interval '1 second'",
    ],
)
def test_postgres_refuses_any_other_update_of_a_counted_row(assignment):
    with at(NOW):
        refused(reason="Invalid token.")
        refused()
    before = SecurityEvent.objects.values().get()

    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(f"UPDATE audit_securityevent SET {assignment}")  # noqa: S608 (fixed test SQL)

    assert SecurityEvent.objects.values().get() == before
