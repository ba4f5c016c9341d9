"""The admin's history page links each entry to the model as it was once that entry was
written (read-only), as the API's `as_of` reads it (issue 14)."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from models_registry.models import AIModel
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(make_user):
    def as_role(role):
        client = Client()
        client.force_login(make_user(role, is_staff=True))
        return client

    return as_role


def as_of_url(model: AIModel, entry: AuditEntry) -> str:
    return reverse("admin:models_registry_aimodel_as_of", args=[model.pk, entry.pk])


def test_each_history_entry_shows_the_model_as_of_then(browser):
    model = AIModelFactory(name="priced", input_cost_per_million_tokens="2.5")
    created = AuditEntry.objects.get(object_type="aimodel", action="create")
    aimodel_update(model=model, actor=None, input_cost_per_million_tokens="4")
    changed = AuditEntry.objects.get(object_type="aimodel", action="update")
    viewer = browser("viewer")

    history = viewer.get(reverse("admin:models_registry_aimodel_history", args=[model.pk]))
    then = viewer.get(as_of_url(model, created))
    later = viewer.get(as_of_url(model, changed))

    assert as_of_url(model, created) in history.content.decode()
    assert as_of_url(model, changed) in history.content.decode()
    assert then.status_code == 200
    assert ("input_cost_per_million_tokens", "2.5") in then.context["fields"]
    assert ("input_cost_per_million_tokens", "4") in later.context["fields"]
    assert b"<form" not in then.content.split(b'id="content-main"')[1]  # read-only


def test_an_entry_of_another_model_is_a_404_and_roleless_users_are_refused(browser):
    model, other = AIModelFactory(), AIModelFactory()
    entry = AuditEntry.objects.get(object_type="aimodel", object_id=str(other.pk))

    assert browser("viewer").get(as_of_url(model, entry)).status_code == 404
    assert browser(None).get(as_of_url(other, entry)).status_code == 403
    anonymous = Client().get(as_of_url(other, entry))
    assert anonymous.status_code == 302
