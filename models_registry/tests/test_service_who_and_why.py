"""Who and why a service records: a change made without a reason is recorded with an empty
reason (the reason is what a person typed, never a placeholder), and its actor is named."""

import pytest

from audit.models import AuditEntry
from models_registry.models import Provider
from models_registry.services import (
    TargetNotActiveError,
    aimodel_move_dependents,
    aimodel_set_status,
    dependency_register,
    dependency_unregister,
    reference_delete,
    reference_save,
)
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_a_status_set_without_a_reason_has_an_empty_reason():
    model = AIModelFactory()

    aimodel_set_status(model=model, status="deprecated", actor=None)

    assert AuditEntry.objects.get(object_id=str(model.pk), action="update").reason == ""


def test_a_dependency_unregistered_without_a_reason_has_an_empty_reason():
    model = AIModelFactory()
    dependency, _ = dependency_register(model=model, component_type="agent", component_id="a1", actor=None)

    dependency_unregister(dependency=dependency, actor=None)

    assert AuditEntry.objects.get(object_type="modeldependency", action="delete").reason == ""


def test_a_dependency_unregistered_names_who_did_it(make_user):
    model, editor = AIModelFactory(), make_user("editor")
    dependency, _ = dependency_register(model=model, component_type="agent", component_id="a1", actor=None)

    dependency_unregister(dependency=dependency, actor=editor)

    assert AuditEntry.objects.get(object_type="modeldependency", action="delete").username == editor.username


def test_dependents_moved_name_who_moved_them(make_user):
    old, new, editor = AIModelFactory(), AIModelFactory(), make_user("editor")
    dependency_register(model=old, component_type="agent", component_id="a1", actor=None)
    mark = AuditEntry.objects.latest("id").pk

    aimodel_move_dependents(model=old, to=new, actor=editor)

    moved = AuditEntry.objects.filter(pk__gt=mark, object_type="modeldependency")
    assert sorted(moved.values_list("action", flat=True)) == ["create", "delete"]
    assert set(moved.values_list("username", flat=True)) == {editor.username}


def test_dependents_are_not_moved_to_a_model_that_is_not_active_and_the_refusal_names_it():
    old, retired = AIModelFactory(), AIModelFactory(status="inactive")
    dependency_register(model=old, component_type="agent", component_id="a1", actor=None)

    with pytest.raises(TargetNotActiveError) as refused:
        aimodel_move_dependents(model=old, to=retired, actor=None)

    assert refused.value.target == retired


@pytest.mark.parametrize("write", ["save", "delete"])
def test_reference_data_written_without_a_reason_has_an_empty_reason_and_names_its_actor(make_user, write):
    admin = make_user("admin")
    provider = Provider(slug="acme", name="Acme")
    reference_save(instance=provider, actor=admin)
    if write == "delete":
        reference_delete(instance=provider, actor=admin)

    entry = AuditEntry.objects.filter(object_type="provider").latest("id")
    assert entry.action == ("delete" if write == "delete" else "create")
    assert (entry.reason, entry.username) == ("", admin.username)
