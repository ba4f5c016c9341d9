"""Updating and deleting a model through the services, beyond what every door already shows:
the defaults of a call that leaves things out, the refusal of a field no one may change, the
changes a stale update reports when the caller says what it had seen, and a delete refused
by a dependency registered after its check (the foreign key's protection, named as the
check would have named it)."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from models_registry.models import AIModel, ModelDependency
from models_registry.selectors import catalog_version
from models_registry.services import (
    HasDependenciesError,
    StaleVersionError,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_register,
)
from models_registry.services import aimodels as aimodel_services
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_an_update_without_a_reason_has_an_empty_reason():
    model = AIModelFactory()

    aimodel_update(model=model, actor=None, display_name="Renamed")

    assert AuditEntry.objects.get(object_type="aimodel", object_id=str(model.pk), action="update").reason == ""


@pytest.mark.parametrize("field", ["id", "version", "created_at", "no_such_field"])
def test_a_field_no_one_may_change_is_refused_by_name_and_nothing_is_written(field):
    model = AIModelFactory()
    entries = AuditEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        aimodel_update(model=model, actor=None, **{field: 1})

    assert refused.value.message_dict == {field: ["This field cannot be changed."]}
    assert AuditEntry.objects.count() == entries


def test_a_stale_update_reports_only_the_changes_newer_than_the_entry_the_caller_had_seen():
    model = AIModelFactory()
    loaded = model.version
    aimodel_update(model=model, actor=None, display_name="First")
    first = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk), action="update").latest("id")
    aimodel_update(model=model, actor=None, display_name="Second")
    second = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk), action="update").latest("id")

    with pytest.raises(StaleVersionError) as since_loaded:
        aimodel_update(model=model, actor=None, expected_version=loaded, context_window=1000)
    with pytest.raises(StaleVersionError) as since_seen:
        aimodel_update(model=model, actor=None, expected_version=loaded, seen_entry=first.pk, context_window=1000)

    assert [entry.pk for entry in since_loaded.value.changes] == [first.pk, second.pk]
    assert [entry.pk for entry in since_seen.value.changes] == [second.pk]


def test_a_delete_without_a_reason_has_an_empty_reason():
    model = AIModelFactory()

    aimodel_delete(model=model, actor=None)

    assert AuditEntry.objects.get(object_type="aimodel", object_id=str(model.pk), action="delete").reason == ""


def test_a_dependency_registered_after_the_check_still_refuses_the_delete_and_is_named(monkeypatch):
    model = AIModelFactory()
    dependency, _ = dependency_register(model=model, component_type="agent", component_id="late", actor=None)
    checked = aimodel_services.dependents_of
    calls = []

    def read_before_the_registration(ids):
        # The service's own check reads before the registration commits; later reads see it.
        calls.append(ids)
        return {} if len(calls) == 1 else checked(ids)

    monkeypatch.setattr(aimodel_services, "dependents_of", read_before_the_registration)

    with pytest.raises(HasDependenciesError) as refused:
        aimodel_delete(model=model, actor=None)

    assert [dependent.component_id for dependent in refused.value.dependents] == ["late"]
    assert str(refused.value) == "The model has 1 dependent(s) and cannot be deleted."
    assert AIModel.objects.filter(pk=model.pk).exists()
    assert ModelDependency.objects.filter(pk=dependency.pk).exists()
    assert not AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk), action="delete").exists()


def test_an_update_that_changes_nothing_leaves_the_catalog_version_alone():
    model = AIModelFactory(display_name="Same")
    version = catalog_version()

    aimodel_update(model=model, actor=None, display_name="Same")

    assert catalog_version() == version


def test_an_alias_given_in_an_update_is_held_against_every_other_model():
    model = AIModelFactory(name="gpt-x")

    aimodel_update(model=model, actor=None, aliases=["gpt-latest"])

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, name="gpt-latest", provider=model.provider)
    assert "name" in refused.value.message_dict
