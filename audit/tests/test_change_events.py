"""Every audit entry of a registry change is also its change event (docs/contract.md §7):
typed from one vocabulary, naming the model it concerns and the provider, and linked in
commit order with the catalog version the change became part of, whatever the door."""

import datetime
import json

import pytest
from django.utils import timezone

from audit.events import event_of
from audit.models import AuditEntry, AuditLink
from audit.retention import prune_history
from models_registry.choices import BulkAction, ModelStatus
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, CatalogVersion, Industry, Provider
from models_registry.services import (
    aimodel_bulk_apply,
    aimodel_delete,
    aimodel_update,
    dependency_register,
    dependency_unregister,
    reference_save,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db


def events_since(entry_id: int = 0) -> list[dict]:
    """The events of the entries written after `entry_id`, in chain (commit) order."""
    links = {link.entry_id: link for link in AuditLink.objects.filter(entry_id__gt=entry_id)}
    entries = AuditEntry.objects.filter(pk__in=links)
    return sorted((event_of(entry, links[entry.pk]) for entry in entries), key=lambda event: int(event["cursor"]))


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_created_model_is_a_model_created_event_naming_itself_its_provider_and_the_new_version():
    acme = ProviderFactory(slug="acme")
    before = last_entry_id()

    model = AIModelFactory(name="m-1", provider=acme)

    [event] = events_since(before)
    assert event["type"] == "model.created"
    assert event["model"] == {"id": model.pk, "name": "m-1"}
    assert event["object"] == {"type": "aimodel", "id": str(model.pk), "name": "m-1"}
    assert event["catalog_version"] == CatalogVersion.objects.get().version
    assert AuditEntry.objects.get(pk=event["id"].removeprefix("evt_")).provider_id == acme.pk


def test_a_status_moved_to_deprecated_is_model_deprecated_through_the_service_and_in_bulk():
    models = [AIModelFactory(), AIModelFactory()]
    before = last_entry_id()

    aimodel_update(model=models[0], actor=None, status=ModelStatus.DEPRECATED)
    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[models[1].pk], actor=None)
    aimodel_bulk_apply(action=BulkAction.ACTIVATE, ids=[models[1].pk], actor=None)

    events = events_since(before)
    assert [(event["type"], event["model"]["id"]) for event in events] == [
        ("model.deprecated", models[0].pk),
        ("model.deprecated", models[1].pk),
        ("model.updated", models[1].pk),
    ]
    bulk_entries = AuditEntry.objects.filter(pk__gt=before, source="bulk")
    assert set(bulk_entries.values_list("provider_id", flat=True)) == {models[1].provider_id}
    versions = [event["catalog_version"] for event in events]
    assert versions == sorted(versions) and len(set(versions)) == 3  # one new version per write


def test_a_profile_change_is_a_model_updated_event_of_its_model():
    model = AIModelFactory(name="with-profile")
    before = last_entry_id()

    aimodel_update(model=model, actor=None, industries=[profile("finance", max_temperature=0.2)])

    [event] = events_since(before)
    assert event["type"] == "model.updated"
    assert event["object"]["type"] == "modelindustryprofile"
    assert event["model"] == {"id": model.pk, "name": "with-profile"}
    assert AuditEntry.objects.get(pk=event["id"].removeprefix("evt_")).provider_id == model.provider_id


def test_dependencies_are_registered_and_removed_events_of_their_model():
    model = AIModelFactory(name="used")
    before = last_entry_id()

    dependency, _ = dependency_register(model=model, component_type="agent", component_id="a-1", actor=None)
    dependency_unregister(dependency=dependency, actor=None)

    events = events_since(before)
    assert [event["type"] for event in events] == ["dependency.registered", "dependency.removed"]
    assert {event["model"]["name"] for event in events} == {"used"}


def test_deletes_providers_and_industries_have_their_own_types():
    before = last_entry_id()
    provider = reference_save(instance=Provider(slug="newco", name="NewCo"), actor=None)
    industry = reference_save(instance=Industry(slug="aerospace", name="Aerospace"), actor=None)
    model = AIModelFactory(provider=provider)
    aimodel_delete(model=AIModel.objects.get(pk=model.pk), actor=None)

    events = events_since(before)
    assert [event["type"] for event in events] == [
        "provider.created", "industry.created", "model.created", "model.deleted",
    ]  # fmt: skip
    assert [event["model"] for event in events[:2]] == [None, None]
    entries = AuditEntry.objects.filter(pk__gt=before).order_by("pk")
    assert [entry.provider_id for entry in entries] == [provider.pk, None, provider.pk, provider.pk]
    assert industry.pk


def test_an_import_writes_typed_events_with_their_provider_and_one_version():
    before = last_entry_id()
    csv = b"name,provider,context_window\nimported-1,importco,1000\nimported-2,importco,2000\n"

    import_models(read_source("models.csv", csv), actor=None)

    events = events_since(before)
    assert [event["type"] for event in events] == ["provider.created", "model.created", "model.created"]
    assert len({event["catalog_version"] for event in events}) == 1
    provider = Provider.objects.get(slug="importco")
    assert set(AuditEntry.objects.filter(pk__gt=before).values_list("provider_id", flat=True)) == {provider.pk}


def test_a_retention_run_is_recorded_but_is_no_registry_event():
    before = last_entry_id()

    prune_history(before=timezone.now() - datetime.timedelta(days=1))

    entry = AuditEntry.objects.get(pk__gt=before)
    assert (entry.object_type, entry.event_type) == ("history", "")


# Found by the replay property (models_registry/tests/test_change_event_replay.py).


def test_the_first_change_to_an_object_made_without_history_names_only_what_changed():
    general = Industry.objects.get(slug="general")  # made by a migration: no history yet
    assert not general.history.exists()
    before = last_entry_id()

    general.name = "General use"
    reference_save(instance=general, actor=None)

    [event] = events_since(before)
    assert event["type"] == "industry.updated"
    assert event["changes"] == {"name": {"old": "General", "new": "General use"}}


def test_a_provider_an_import_creates_is_recorded_with_every_field_as_any_new_provider():
    reference_save(instance=Provider(slug="by-hand", name="by-hand"), actor=None)
    import_models(read_source("models.csv", b"name,provider\nimported-1,imported\n"), actor=None)

    created = {
        event["object"]["name"]: event["changes"] for event in events_since() if event["type"] == "provider.created"
    }
    assert set(created["imported"]) == set(created["by-hand"]) == {"slug", "name", "website", "description"}
    assert created["imported"]["website"] == {"old": None, "new": ""}


def test_an_import_that_renames_a_model_records_the_rename_before_its_profiles_changes():
    AIModelFactory(name="m-1", industries=[profile("general")])
    before = last_entry_id()

    import_models(read_source("models.csv", b"name,industries\nM-1,[]\n"), actor=None)

    rename, removed = events_since(before)
    assert (rename["object"]["type"], rename["changes"]) == ("aimodel", {"name": {"old": "m-1", "new": "M-1"}})
    assert (removed["object"]["type"], removed["changes"]["model"]) == (
        "modelindustryprofile",
        {"old": "M-1", "new": None},
    )


def test_an_import_naming_a_successor_by_its_new_name_records_no_change_of_successor():
    AIModelFactory(name="m-2", successor=AIModelFactory(name="m-1"))
    before = last_entry_id()
    rows = [{"name": "M-1"}, {"name": "m-2", "successor": "M-1"}]

    import_models(read_source("models.json", json.dumps(rows).encode()), actor=None)

    [rename] = events_since(before)
    assert (rename["object"]["name"], rename["changes"]) == ("M-1", {"name": {"old": "m-1", "new": "M-1"}})
