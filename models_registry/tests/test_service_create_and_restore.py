"""Creating, restoring and renaming a model through the services when the name is taken
between the check and the write (a concurrent create committed in that gap: the unique
index refuses the write and the service says which field collided, as validation would
have), and what a restore records and refuses; and that every wrong profile of a model is
named. (A restore racing another restore of the same id: test_api_revert.py.)

The race is staged on SQLite, where it cannot be timed with threads: the holder's names are
hidden while the service validates and are back when it writes. The same races with real
threads on PostgreSQL are in test_concurrency.py."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from models_registry.models import AIModel, RegisteredName
from models_registry.services import ProfileInput, aimodel_create, aimodel_delete, aimodel_restore, aimodel_update
from models_registry.services import aimodels as aimodel_services
from models_registry.services.aimodels import checked_profiles
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db

HIDDEN = "hidden-"


@pytest.fixture
def taken_after_the_check(monkeypatch):
    """taken_after_the_check(holder): `holder`'s name and aliases are free while the service
    validates the first time, and held again when it writes."""

    def arrange(holder: AIModel):
        validate = aimodel_services.validate_aimodel
        pending = [holder]

        def validate_while_hidden(*args, **kwargs):
            if not pending:
                return validate(*args, **kwargs)
            hidden = pending.pop()
            names = RegisteredName.objects.filter(model=hidden)
            AIModel.objects.filter(pk=hidden.pk).update(name=HIDDEN + hidden.name, aliases=[])
            for registered in names:
                RegisteredName.objects.filter(pk=registered.pk).update(name=HIDDEN + registered.name)
            try:
                return validate(*args, **kwargs)
            finally:
                AIModel.objects.filter(pk=hidden.pk).update(name=hidden.name, aliases=hidden.aliases)
                for registered in names:
                    RegisteredName.objects.filter(pk=registered.pk).update(name=registered.name)

        monkeypatch.setattr(aimodel_services, "validate_aimodel", validate_while_hidden)

    return arrange


def test_a_create_without_a_reason_has_an_empty_reason():
    model = aimodel_create(actor=None, name="gpt-x", provider=ProviderFactory())

    assert AuditEntry.objects.get(object_type="aimodel", object_id=str(model.pk), action="create").reason == ""


def test_a_name_taken_between_the_check_and_the_create_is_refused_on_the_name(taken_after_the_check):
    holder = AIModelFactory(name="gpt-x")
    taken_after_the_check(holder)

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, name="GPT-X", provider=ProviderFactory())

    assert refused.value.message_dict == {"name": ["A model with this name already exists."]}
    assert list(AIModel.objects.values_list("pk", flat=True)) == [holder.pk]


def test_an_alias_taken_between_the_check_and_the_create_is_refused_on_the_aliases(taken_after_the_check):
    holder = AIModelFactory(name="gpt-x", aliases=["gpt-latest"])
    taken_after_the_check(holder)

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, name="gpt-y", aliases=["gpt-latest"], provider=ProviderFactory())

    assert refused.value.message_dict == {"aliases": ["'gpt-latest' is already a name or alias of gpt-x."]}
    assert list(AIModel.objects.values_list("pk", flat=True)) == [holder.pk]


def deleted(name: str = "gpt-old") -> tuple[int, dict, int]:
    """A model deleted, as a restore finds it: its id, its fields and its last version."""
    model = AIModelFactory(name=name)
    fields = {"name": model.name, "provider_id": model.provider_id, "model_type": model.model_type}
    model_id, version = model.pk, model.version
    aimodel_delete(model=model, actor=None)
    return model_id, fields, version


def test_a_restore_records_who_and_an_empty_reason_when_none_is_given(make_user):
    admin = make_user("admin")
    model_id, fields, version = deleted()

    restored = aimodel_restore(model_id=model_id, fields=fields, version=version + 1, actor=admin)

    assert (restored.pk, restored.created_by, restored.updated_by) == (model_id, admin.username, admin.username)
    entry = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model_id), action="create").latest("id")
    assert (entry.username, entry.reason) == (admin.username, "")


def test_a_restore_whose_name_was_taken_since_names_the_model_holding_it():
    model_id, fields, version = deleted()
    holder = AIModelFactory(name="gpt-old")

    with pytest.raises(ValidationError) as refused:
        aimodel_restore(model_id=model_id, fields=fields, version=version + 1, actor=None)

    assert refused.value.message_dict["name"] == [f"A model with this name already exists: gpt-old (id {holder.pk})."]
    assert not AIModel.objects.filter(pk=model_id).exists()


def test_a_restore_onto_an_id_in_use_is_refused_and_leaves_that_model_alone():
    model_id, fields, version = deleted()
    aimodel_restore(model_id=model_id, fields=fields, version=version + 1, actor=None)

    with pytest.raises(ValidationError) as refused:
        aimodel_restore(model_id=model_id, fields={**fields, "name": "gpt-again"}, version=version + 2, actor=None)

    assert refused.value.message_dict == {"id": ["AI model with this ID already exists."]}
    assert AIModel.objects.get(pk=model_id).name == "gpt-old"


def test_a_name_taken_between_the_check_and_the_restore_is_refused_on_the_name(taken_after_the_check):
    model_id, fields, version = deleted()
    holder = AIModelFactory(name="gpt-old")
    taken_after_the_check(holder)

    with pytest.raises(ValidationError) as refused:
        aimodel_restore(model_id=model_id, fields=fields, version=version + 1, actor=None)

    assert refused.value.message_dict == {"name": ["A model with this name already exists."]}
    assert not AIModel.objects.filter(pk=model_id).exists()


def test_every_profile_that_is_wrong_is_named_not_only_the_last():
    general, finance = profile("general"), profile("finance")
    repeated = [general, general, ProfileInput(industry=finance.industry, enabled="maybe", settings={})]

    _, problems = checked_profiles(repeated)

    assert problems[0] == "general: listed more than once."
    assert [problem.split(":")[0] for problem in problems] == ["general", "finance"]


def test_a_name_taken_between_the_check_and_a_rename_is_refused_on_the_name(taken_after_the_check):
    holder, renamed = AIModelFactory(name="gpt-x"), AIModelFactory(name="gpt-y")
    taken_after_the_check(holder)

    with pytest.raises(ValidationError) as refused:
        aimodel_update(model=renamed, actor=None, name="gpt-x")

    assert refused.value.message_dict == {"name": ["A model with this name already exists."]}
    assert AIModel.objects.get(pk=renamed.pk).name == "gpt-y"
