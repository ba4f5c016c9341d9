"""How the worker applies due scheduled changes (services/scheduled.py), to the letter: the
reason it records, the error a failed change keeps, which change goes first, and what it reads."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from models_registry.models import AIModel, ScheduledChange
from models_registry.services.scheduled import apply_due_scheduled_changes, scheduled_change_create
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def scheduled(model, *, seconds_ago: int, reason: str = "") -> ScheduledChange:
    at = timezone.now() + datetime.timedelta(hours=1)
    change = scheduled_change_create(model=model, status="inactive", at=at, actor=None, reason=reason)
    ScheduledChange.objects.filter(pk=change.pk).update(at=timezone.now() - datetime.timedelta(seconds=seconds_ago))
    return change


def status_entry(model) -> AuditEntry:
    return AuditEntry.objects.get(object_id=str(model.pk), action="update")


def test_a_change_without_a_reason_is_recorded_as_the_scheduled_change_alone():
    model = AIModelFactory()
    change = scheduled(model, seconds_ago=1)

    apply_due_scheduled_changes()

    assert status_entry(model).reason == f"scheduled change {change.pk}"


def test_a_failed_change_keeps_every_message_of_every_field():
    model = AIModelFactory()
    change = scheduled(model, seconds_ago=1)
    AIModel.objects.filter(pk=model.pk).update(aliases=["bad one", "bad two"], metadata=[1])  # behind the services

    apply_due_scheduled_changes()

    change.refresh_from_db()
    rule = "Start with a letter or digit; then letters, digits and . _ : / @ + - only."
    assert change.state == "failed"
    assert change.error == f"aliases: 'bad one': {rule} 'bad two': {rule}; metadata: Must be a JSON object."


def test_the_change_due_first_is_applied_first_whatever_order_they_were_made_in():
    later, earlier = AIModelFactory(), AIModelFactory()
    scheduled(later, seconds_ago=10)
    scheduled(earlier, seconds_ago=20)

    assert apply_due_scheduled_changes() == 2

    assert status_entry(earlier).pk < status_entry(later).pk


def test_each_change_applied_has_a_request_id_of_its_own():
    first, second = AIModelFactory(), AIModelFactory()
    scheduled(first, seconds_ago=2)
    scheduled(second, seconds_ago=1)

    apply_due_scheduled_changes()

    assert status_entry(first).request_id != status_entry(second).request_id


def test_a_change_scheduled_without_a_reason_has_an_empty_one():
    at = timezone.now() + datetime.timedelta(hours=1)

    assert scheduled_change_create(model=AIModelFactory(), status="inactive", at=at, actor=None).reason == ""


def test_each_due_change_reads_its_model_once_under_its_lock():
    """The due changes are read with their models (one query); a model's row is read again
    only by the update's lock, not once more to follow the change to it."""
    models = [AIModelFactory(), AIModelFactory()]
    for seconds_ago, model in enumerate(models, start=1):
        scheduled(model, seconds_ago=seconds_ago)

    with CaptureQueriesContext(connection) as queries:
        assert apply_due_scheduled_changes() == 2

    table = connection.ops.quote_name(AIModel._meta.db_table)
    for model in models:
        by_id = f"FROM {table} WHERE {table}.{connection.ops.quote_name('id')} = {model.pk} "
        assert sum(by_id in query["sql"] for query in queries.captured_queries) == 1
