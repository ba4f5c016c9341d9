"""Bulk operations at the service, beyond their audit (test_bulk_actions.py): what a status
change stamps on each model it moves (one version more, when, by whom), what it says of a
model already in the asked status, the audit entries a write reports having made, and a
delete's constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from models_registry.choices import BulkAction
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply
from models_registry.services.catalog import registry_write
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_each_model_moved_gets_one_version_more_the_time_and_who_moved_it(make_user):
    editor = make_user("editor")
    models = AIModelFactory.create_batch(3)
    before = {model.pk: model.version for model in models}
    started = timezone.now()

    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=list(before), actor=editor)

    for model in AIModel.objects.filter(pk__in=before):
        assert model.status == "deprecated"
        assert model.version == before[model.pk] + 1
        assert model.updated_at >= started
        assert model.updated_by == editor.username


def test_a_model_already_in_the_status_is_said_to_be_unchanged_and_the_others_are_not():
    moving, already = AIModelFactory(status="active"), AIModelFactory(status="deprecated")

    result = aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[moving.pk, already.pk], actor=None)

    assert result.as_dict()["results"] == [
        {"id": moving.pk, "ok": True},
        {"id": already.pk, "ok": True, "unchanged": True},
    ]


@pytest.mark.postgres
def test_a_write_reports_the_ids_of_the_entries_a_bulk_change_wrote():
    """On PostgreSQL the bulk writer reports (id, chained text) rows, not ids."""
    models = AIModelFactory.create_batch(3)

    with registry_write(actor=None) as write:
        aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[model.pk for model in models], actor=None)
        written = write.entry_ids()

    entries = AuditEntry.objects.filter(pk__in=written)
    assert all(isinstance(pk, int) for pk in written)
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(str(model.pk) for model in models)


def test_a_bulk_delete_takes_as_many_queries_for_many_models_with_successors_as_for_one():
    def queries(count: int) -> int:
        successor = AIModelFactory()
        models = AIModelFactory.create_batch(count, successor=successor)
        with CaptureQueriesContext(connection) as captured:
            aimodel_bulk_apply(action=BulkAction.DELETE, ids=[model.pk for model in models], actor=None)
        assert not AIModel.objects.filter(pk__in=[model.pk for model in models]).exists()
        return len(captured)

    assert queries(5) == queries(1)


def test_a_bulk_change_without_a_reason_has_an_empty_reason():
    model = AIModelFactory(status="active")

    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[model.pk], actor=None)

    assert AuditEntry.objects.get(object_type="aimodel", object_id=str(model.pk), action="update").reason == ""


def test_a_chain_of_successors_deleted_together_goes_whole_whatever_the_order_of_its_ids():
    """The newest model is made first, so each successor has a smaller id than the model
    naming it: a single pass over the ids in order would find each one still named."""
    chain = [AIModelFactory(name="gpt-5")]
    for name in ["gpt-4", "gpt-3", "gpt-2", "gpt-1"]:
        chain.append(AIModelFactory(name=name, successor=chain[-1]))
    ids = [model.pk for model in chain]

    result = aimodel_bulk_apply(action=BulkAction.DELETE, ids=ids, actor=None)

    assert result.as_dict()["results"] == [{"id": pk, "ok": True} for pk in ids]
    assert not AIModel.objects.filter(pk__in=ids).exists()


def test_an_atomic_request_with_a_failure_applies_nothing_and_says_so_for_every_item():
    model = AIModelFactory(status="active")
    missing = model.pk + 1000

    result = aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[model.pk, missing], actor=None, atomic=True)

    assert result.as_dict() == {
        "action": "deprecate",
        "total": 2,
        "succeeded": 0,
        "failed": 2,
        "results": [
            {"id": model.pk, "ok": False, "error": "not applied: another item of this atomic request failed"},
            {"id": missing, "ok": False, "error": "not found"},
        ],
    }
    assert AIModel.objects.get(pk=model.pk).status == "active"


@pytest.mark.parametrize("odd", ["1", None, 0.5, "x"])
def test_an_id_that_is_not_a_whole_number_is_not_found_and_the_others_go_on(odd):
    model = AIModelFactory(status="active")

    result = aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[model.pk, odd], actor=None)

    assert result.as_dict()["results"] == [{"id": model.pk, "ok": True}, {"id": odd, "ok": False, "error": "not found"}]
    assert AIModel.objects.get(pk=model.pk).status == "deprecated"
