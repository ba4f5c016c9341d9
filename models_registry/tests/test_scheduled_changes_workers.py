"""Workers applying due scheduled changes on PostgreSQL, beside test_scheduled_changes.py's
"each change once": a change another worker holds is skipped, not waited for, and changes
due at the same instant are applied in the order they were made, whatever order the table
keeps its rows in."""

import datetime
import threading

import pytest
from django.db import connections, transaction

from models_registry.models import AIModel, ScheduledChange
from models_registry.services.scheduled import apply_due_scheduled_changes, scheduled_change_create
from models_registry.tests.factories import AIModelFactory
from models_registry.tests.test_scheduled_changes import come_due, soon

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 10  # seconds a worker is given; a worker that waits on a lock takes until the release


def test_a_change_another_worker_holds_is_skipped_not_waited_for():
    held_model, free_model = AIModelFactory(), AIModelFactory()
    held = scheduled_change_create(model=held_model, status="deprecated", at=soon(), actor=None)
    free = scheduled_change_create(model=free_model, status="deprecated", at=soon(), actor=None)
    come_due(held, free)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                ScheduledChange.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(WAIT * 2)
        finally:
            connections.close_all()

    def work():
        try:
            apply_due_scheduled_changes()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(WAIT)
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(WAIT)
    finished_while_held = not worker.is_alive()
    release.set()
    worker.join(WAIT * 2)
    holder.join(WAIT * 2)

    assert finished_while_held, "the worker waited for the change another worker holds"
    assert ScheduledChange.objects.get(pk=free.pk).state == "done"
    assert AIModel.objects.get(pk=free_model.pk).status == "deprecated"


def test_changes_due_at_the_same_instant_are_applied_in_the_order_they_were_made():
    model = AIModelFactory(status="active")
    first = scheduled_change_create(model=model, status="deprecated", at=soon(), actor=None)
    second = scheduled_change_create(model=model, status="inactive", at=soon(), actor=None)
    come_due(first, second)  # one instant for both
    # Moving the first row's instant away and back gives it new row versions (its index
    # entry changes each time), now after the second one in the table and in the index.
    due = ScheduledChange.objects.get(pk=first.pk).at
    ScheduledChange.objects.filter(pk=first.pk).update(at=due - datetime.timedelta(seconds=1))
    ScheduledChange.objects.filter(pk=first.pk).update(at=due)

    while apply_due_scheduled_changes():
        pass

    assert AIModel.objects.get(pk=model.pk).status == "inactive"
    assert set(ScheduledChange.objects.values_list("state", flat=True)) == {"done"}
