"""Registering a dependency through the service: what it stores when the optional parts are
left out, who and why it records, and which registration counts as "the same component"
(the model, the component's type and its id, all three)."""

import pytest

from audit.models import AuditEntry
from models_registry.models import ModelDependency
from models_registry.selectors import catalog_version
from models_registry.services import dependency_register
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def registration_entry(dependency: ModelDependency) -> AuditEntry:
    return AuditEntry.objects.get(object_type="modeldependency", object_id=str(dependency.pk), action="create")


def test_a_registration_without_name_owner_or_reason_stores_them_empty():
    dependency, created = dependency_register(
        model=AIModelFactory(), component_type="agent", component_id="a1", actor=None
    )

    dependency.refresh_from_db()
    assert created
    assert (dependency.component_name, dependency.owner) == ("", "")
    assert registration_entry(dependency).reason == ""


def test_a_registration_records_who_and_why(make_user):
    editor = make_user("editor")

    dependency, _ = dependency_register(
        model=AIModelFactory(), component_type="agent", component_id="a1", actor=editor, reason="new agent"
    )

    entry = registration_entry(dependency)
    assert (entry.username, entry.reason) == (editor.username, "new agent")
    assert dependency.registered_by == editor.username


def test_registering_the_same_component_again_returns_it_and_writes_nothing():
    model = AIModelFactory()
    first, _ = dependency_register(model=model, component_type="agent", component_id="a1", actor=None)
    entries, version = AuditEntry.objects.count(), catalog_version()

    again, created = dependency_register(
        model=model, component_type="agent", component_id="a1", component_name="other", actor=None
    )

    assert (again.pk, created) == (first.pk, False)
    assert (AuditEntry.objects.count(), catalog_version()) == (entries, version)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"component_type": "service", "component_id": "a1"}, id="another-type"),
        pytest.param({"component_type": "agent", "component_id": "a2"}, id="another-id"),
    ],
)
def test_another_type_or_id_on_the_same_model_is_another_registration(other):
    model = AIModelFactory()
    first, _ = dependency_register(model=model, component_type="agent", component_id="a1", actor=None)

    second, created = dependency_register(model=model, actor=None, **other)

    assert created and second.pk != first.pk
    assert ModelDependency.objects.filter(model=model).count() == 2


def test_the_same_component_on_another_model_is_another_registration():
    first, _ = dependency_register(model=AIModelFactory(), component_type="agent", component_id="a1", actor=None)
    other_model = AIModelFactory()

    second, created = dependency_register(model=other_model, component_type="agent", component_id="a1", actor=None)

    assert created and second.pk != first.pk
    assert second.model_id == other_model.pk
