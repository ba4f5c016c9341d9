"""Scheduled changes (docs/contract.md §7, "Lifecycle"): a model set to become deprecated or
inactive at a given time; the worker applies it on time through the normal status change
(source `schedule` in the audit trail, the scheduler as the actor); pending ones can be
listed and cancelled; the API and the admin are open to whoever may change models."""

import datetime
import json
import threading

import pytest
from django.db import connections
from django.utils import timezone

from audit.models import AuditEntry, SecurityEvent
from models_registry.models import AIModel, ScheduledChange
from models_registry.services import aimodel_bulk_apply, aimodel_delete
from models_registry.services.scheduled import apply_due_scheduled_changes, scheduled_change_create
from models_registry.tests.factories import AIModelFactory
from worker.steps import worker_steps

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduled-changes"


def soon(seconds: float = 3600) -> str:
    return (timezone.now() + datetime.timedelta(seconds=seconds)).isoformat()


def come_due(*changes: ScheduledChange) -> None:
    ScheduledChange.objects.filter(pk__in=[c.pk for c in changes]).update(
        at=timezone.now() - datetime.timedelta(seconds=1)
    )


def test_an_editor_schedules_lists_and_cancels(api_as):
    editor = api_as("editor")
    model = AIModelFactory(name="gpt-old")

    by_name = editor.post(
        URL, {"model": "GPT-OLD", "status": "deprecated", "at": soon(), "reason": "EOL"}, format="json"
    )
    by_id = editor.post(URL, {"model": model.pk, "status": "inactive", "at": soon(7200)}, format="json")
    listed = editor.get(URL)
    cancelled = editor.delete(f"{URL}/{by_id.json()['id']}")
    again = editor.delete(f"{URL}/{by_id.json()['id']}")

    assert (by_name.status_code, by_id.status_code) == (201, 201)
    assert by_name["Location"].endswith(f"{URL}/{by_name.json()['id']}")
    assert {key: by_name.json()[key] for key in ("model", "status", "reason", "state", "created_by")} == {
        "model": "gpt-old", "status": "deprecated", "reason": "EOL", "state": "pending",
        "created_by": editor.user.username,
    }  # fmt: skip
    assert [(c["status"], c["state"]) for c in listed.json()["results"]] == [
        ("deprecated", "pending"),
        ("inactive", "pending"),
    ]
    assert cancelled.status_code == 204
    assert ScheduledChange.objects.get(pk=by_id.json()["id"]).state == "cancelled"
    assert again.status_code == 409 and again.json()["state"] == "cancelled"
    assert AIModel.objects.get(pk=model.pk).status == "active"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"model": "nobody", "status": "deprecated"}, "model"),
        ({"model": True, "status": "deprecated"}, "model"),
        ({"model": [1], "status": "deprecated"}, "model"),
        ({"model": 2**70, "status": "deprecated"}, "model"),
        ({"model": "m", "status": "active"}, "status"),
        ({"model": "m", "status": "\ud800"}, "status"),
        ({"model": "m", "status": "deprecated", "at": "2020-01-01T00:00:00Z"}, "at"),
        ({"model": "m", "status": "deprecated", "at": "2030-1-1"}, "at"),
        ({"model": "m", "status": "deprecated", "at": 1893456000}, "at"),
        ({"model": "m", "status": "deprecated", "reason": "x" * 501}, "reason"),
    ],
)
def test_bad_input_is_a_field_error_and_schedules_nothing(api_as, body, field):
    AIModelFactory(name="m")
    body = {"at": soon(), **body}

    # json.dumps escapes a lone surrogate as a client would send it ("\\ud800")
    response = api_as("editor").post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 400 and field in response.json(), response.content
    assert not ScheduledChange.objects.exists()


def test_viewers_may_not_list_schedule_or_cancel(api_as):
    viewer = api_as("viewer")
    change = scheduled_change_create(model=AIModelFactory(), status="deprecated", at=soon(), actor=None)

    body = {"model": change.model.pk, "status": "inactive", "at": soon()}
    answers = [viewer.get(URL), viewer.post(URL, body, format="json"), viewer.delete(f"{URL}/{change.pk}")]

    assert [answer.status_code for answer in answers] == [403, 403, 403]

    refusals = SecurityEvent.objects.filter(event="permission_denied", username=viewer.user.username)
    assert sum(refusals.values_list("count", flat=True)) == 3
    assert ScheduledChange.objects.get().state == "pending"


def test_the_worker_applies_due_changes_as_the_scheduler_with_source_schedule(make_user):
    scheduler = make_user("editor")
    due, later = AIModelFactory(name="due"), AIModelFactory(name="later")
    deprecate = scheduled_change_create(model=due, status="deprecated", at=soon(), actor=scheduler, reason="EOL")
    cancelled = scheduled_change_create(model=due, status="inactive", at=soon(), actor=scheduler)
    scheduled_change_create(model=later, status="inactive", at=soon(), actor=scheduler)
    cancelled.state = "cancelled"
    cancelled.save()
    come_due(deprecate, cancelled)
    (step,) = [step for step in worker_steps() if step.name == "scheduled changes"]

    taken = step.make()(None)

    assert taken == 1
    assert AIModel.objects.get(name="due").status == "deprecated"
    assert AIModel.objects.get(name="later").status == "active"
    entry = AuditEntry.objects.filter(object_id=str(due.pk), action="update").get()
    assert (entry.source, entry.username, entry.event_type) == ("schedule", scheduler.username, "model.deprecated")
    assert entry.reason == f"scheduled change {deprecate.pk}: EOL"
    assert entry.changes["status"] == {"old": "active", "new": "deprecated"}
    deprecate.refresh_from_db()
    assert deprecate.state == "done" and deprecate.finished_at is not None
    assert ScheduledChange.objects.get(pk=cancelled.pk).state == "cancelled"
    assert step.make()(None) == 0


def test_a_change_that_fails_validation_is_marked_failed_with_why_and_the_others_go_on():
    broken, fine = AIModelFactory(name="broken"), AIModelFactory(name="fine")
    failing = scheduled_change_create(model=broken, status="inactive", at=soon(), actor=None)
    working = scheduled_change_create(model=fine, status="inactive", at=soon(), actor=None)
    AIModel.objects.filter(pk=broken.pk).update(metadata=[1])  # made invalid behind the services' back
    come_due(failing, working)

    apply_due_scheduled_changes()

    failing.refresh_from_db()
    assert failing.state == "failed" and "metadata" in failing.error
    assert AIModel.objects.get(pk=broken.pk).status == "active"
    assert ScheduledChange.objects.get(pk=working.pk).state == "done"
    assert AIModel.objects.get(pk=fine.pk).status == "inactive"


@pytest.mark.parametrize("delete", ["one", "bulk"])
def test_a_scheduled_change_does_not_keep_its_model_from_being_deleted_and_goes_with_it(delete):
    model = AIModelFactory()
    scheduled_change_create(model=model, status="inactive", at=soon(), actor=None)

    if delete == "one":
        aimodel_delete(model=model, actor=None)
    else:
        assert aimodel_bulk_apply(action="delete", ids=[model.pk], actor=None).succeeded == 1

    assert not AIModel.objects.exists() and not ScheduledChange.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_applying_at_once_apply_each_change_once():
    models = AIModelFactory.create_batch(30)
    changes = [scheduled_change_create(model=m, status="deprecated", at=soon(), actor=None) for m in models]
    come_due(*changes)
    barrier = threading.Barrier(4)

    def apply():
        try:
            barrier.wait()
            while apply_due_scheduled_changes():
                pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert set(ScheduledChange.objects.values_list("state", flat=True)) == {"done"}
    entries = AuditEntry.objects.filter(source="schedule")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(str(m.pk) for m in models)
