"""Who and why a service records: a change made without a reason is recorded with an empty
reason (the reason is what a person typed, never a placeholder), and its actor is named."""

import pytest

from audit.models import AuditEntry
from models_registry.services import aimodel_set_status, dependency_register, dependency_unregister
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
