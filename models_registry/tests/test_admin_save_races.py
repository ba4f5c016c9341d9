"""The admin's save against other saves landing while it runs (PostgreSQL only: SQLite
serialises writers). The form's validation locks the model's row (the service's version
check, aimodel_lock), so a save of the same model waits for the admin's to commit; a name
another save takes after the validation is shown on the form, on its field.

Each other save runs in a thread of its own, on its own database connection, started from
inside the admin's save_related: after the form validated, before the admin's write."""

import threading
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connections

from audit.models import AuditEntry
from models_registry.admin.aimodels import AIModelAdmin
from models_registry.models import AIModel, ModelIndustryProfile
from models_registry.services import StaleVersionError, aimodel_create, aimodel_update
from models_registry.tests.admin_pages import (
    CHANGELIST,
    PROFILES,
    change_url,
    form_errors,
    form_fields,
    last_audit_id,
    page_of,
    post_data,
    signed_in,
    staff,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile
from models_registry.tests.test_concurrency import THREAD_TIMEOUT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FORM_ID = "aimodel_form"
BLOCKED_FOR = 1.0  # seconds the other save is given to get through, were it not held back


class OtherSave(threading.Thread):
    """Another person's save, on its own connection; its result or exception in `outcome`,
    and whether it was still waiting when the admin's save went on (`held_back`)."""

    def __init__(self, call):
        super().__init__()
        self.call, self.outcome, self.held_back = call, None, None

    def run(self):
        try:
            self.outcome = self.call()
        except Exception as error:  # the outcome under test
            self.outcome = error
        finally:
            connections.close_all()


def with_other_save_first(call, *, wait: bool):
    """AIModelAdmin.save_related, which first starts `call` in another thread: then waits
    for it to finish (`wait`), or gives it BLOCKED_FOR seconds and goes on. The threads
    started, for the test to look at."""
    save_related, started = AIModelAdmin.save_related, []

    def other_save_first(admin, request, form, formsets, change):
        other = OtherSave(call)
        started.append(other)
        other.start()
        other.join(timeout=THREAD_TIMEOUT if wait else BLOCKED_FOR)
        other.held_back = other.is_alive()
        return save_related(admin, request, form, formsets, change)

    return mock.patch.object(AIModelAdmin, "save_related", other_save_first), started


def test_a_save_of_the_model_during_the_admins_save_waits_for_it_then_is_refused_as_stale():
    model = AIModelFactory(name="n-race", display_name="Before", industries=[profile("general", notes="before")])
    editor, other = staff("editor"), staff("editor")
    client = signed_in(editor)
    submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
    submitted["display_name"] = ["Mine"]
    submitted[f"{PROFILES}-0-setting__notes"] = ["mine"]
    mark = last_audit_id()
    theirs = lambda: aimodel_update(  # noqa: E731 (loaded at version 1, as the admin's form was)
        model=AIModel.objects.get(pk=model.pk), actor=other, expected_version=1, display_name="Theirs"
    )
    patched, started = with_other_save_first(theirs, wait=False)

    with patched:
        response = client.post(change_url(model.pk), post_data(submitted))
        [other_save] = started
        other_save.join(timeout=THREAD_TIMEOUT)

    assert response.status_code == 302, form_errors(response)
    assert other_save.held_back, f"the other save did not wait for the admin's: {other_save.outcome!r}"
    assert isinstance(other_save.outcome, StaleVersionError), other_save.outcome
    assert other_save.outcome.current.version == 2
    stored = AIModel.objects.get(pk=model.pk)
    assert (stored.display_name, stored.version) == ("Mine", 2)
    assert ModelIndustryProfile.objects.get(model=model).settings == {"notes": "mine"}
    entries = AuditEntry.objects.filter(id__gt=mark).order_by("id")
    assert [(entry.object_type, entry.username) for entry in entries] == [
        ("aimodel", editor.username),
        ("modelindustryprofile", editor.username),
    ]


def test_a_name_taken_after_the_forms_validation_is_shown_on_its_field_and_nothing_saved():
    model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-mine", display_name="Before")
    client = signed_in(staff("editor"))
    submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
    submitted |= {"name": ["n-wanted"], "display_name": ["Mine"]}
    provider = ProviderFactory()
    mark = last_audit_id()
    patched, started = with_other_save_first(
        lambda: aimodel_create(actor=None, provider=provider, name="n-other", aliases=["n-wanted"]), wait=True
    )

    with patched:
        response = client.post(change_url(model.pk), post_data(submitted))

    assert response.status_code == 200, response.get("Location")
    [other_save] = started  # the form validated again, refused, and did not come to save again
    other = other_save.outcome
    assert isinstance(other, AIModel), other
    errors = response.context["adminform"].form.errors
    assert dict(errors) == {"name": ["'n-wanted' is already an alias of n-other."]}
    assert form_fields(page_of(response), FORM_ID)["display_name"] == ["Mine"]
    stored = AIModel.objects.get(pk=model.pk)
    assert (stored.name, stored.display_name, stored.version) == ("n-mine", "Before", 1)
    assert [entry.object_id for entry in AuditEntry.objects.filter(id__gt=mark)] == [str(other.pk)]
    assert not LogEntry.objects.exists()


def test_a_new_models_name_taken_after_the_forms_validation_is_shown_on_the_add_form():
    provider = ProviderFactory()
    client = signed_in(staff("editor"))
    submitted = form_fields(page_of(client.get(f"{CHANGELIST}add/")), FORM_ID)
    submitted |= {"name": ["n-new"], "display_name": ["New"], "provider": [str(provider.pk)]}
    patched, started = with_other_save_first(
        lambda: aimodel_create(actor=None, provider=provider, name="n-new"), wait=True
    )

    with patched:
        response = client.post(f"{CHANGELIST}add/", post_data(submitted))

    assert response.status_code == 200, response.get("Location")
    [other_save] = started
    assert response.context["add"] is True
    errors = response.context["adminform"].form.errors
    assert dict(errors) == {"name": ["A model with this name already exists."]}
    assert form_fields(page_of(response), FORM_ID)["display_name"] == ["New"]
    assert list(AIModel.objects.values_list("pk", "name")) == [(other_save.outcome.pk, "n-new")]
    assert not LogEntry.objects.exists()
