"""Accepting rows of a catalog drift (`accept_drift`, behind the admin's drift page): through
the importer, only the chosen rows and only their drifted fields, all or nothing."""

import json

import pytest

from audit.models import AuditEntry
from models_registry.importing import read_source
from models_registry.importing.drift import DriftNotAccepted, accept_drift, catalog_drift
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db


def litellm(catalog: dict):
    return read_source("catalog.json", json.dumps(catalog).encode(), "litellm")


def project_json(rows: list[dict]):
    return read_source("models.json", json.dumps(rows).encode(), "json")


def shown(source, *names):
    rows = {row.name: row for row in catalog_drift(source).rows}
    return [rows[name] for name in names]


def test_alias_entries_are_accepted_with_the_model_they_name():
    model = AIModelFactory(name="gpt-x", provider=ProviderFactory(slug="openai"), aliases=[])
    source = litellm({"gpt-x": {"litellm_provider": "openai", "mode": "chat"}, "gpt-x-latest": {"alias_of": "gpt-x"}})
    (row,) = shown(source, "gpt-x")

    accept_drift(source, accepted=[row], actor=None)

    model.refresh_from_db()
    assert model.aliases == ["gpt-x-latest"]
    assert catalog_drift(source).in_sync


def test_a_changed_row_leaves_the_columns_that_did_not_drift_as_the_registry_has_them():
    """The file's other cells are not written again: a value set in the registry between
    the comparison's read and the write of an undrifted column stays."""
    openai = ProviderFactory(slug="openai")
    model = AIModelFactory(name="gpt-x", provider=openai, context_window=8000, display_name="GPT X")
    source = project_json([{"name": "gpt-x", "provider": "openai", "context_window": 9000, "display_name": "GPT X"}])
    (row,) = shown(source, "gpt-x")
    AIModel.objects.filter(pk=model.pk).update(display_name="Renamed meanwhile")

    accept_drift(source, accepted=[row], actor=None)

    model.refresh_from_db()
    assert (model.context_window, model.display_name) == (9000, "Renamed meanwhile")
    (entry,) = AuditEntry.objects.filter(object_type="aimodel", action="update")
    assert entry.changes == {"context_window": {"old": 8000, "new": 9000}}


def test_industry_profiles_that_drifted_are_accepted_as_the_file_sets_them():
    openai = ProviderFactory(slug="openai")
    model = AIModelFactory(name="gpt-x", provider=openai, industries=[profile("general")])
    source = project_json([{"name": "gpt-x", "industries": [{"industry": "finance", "enabled": True, "settings": {}}]}])
    (row,) = shown(source, "gpt-x")
    assert set(row.changes) == {"industries.general", "industries.finance"}

    accept_drift(source, accepted=[row], actor=None)

    assert list(model.industry_profiles.values_list("industry__slug", flat=True)) == ["finance"]
    assert catalog_drift(source).in_sync


def test_a_row_that_needs_a_row_not_accepted_refuses_everything():
    openai = ProviderFactory(slug="openai")
    AIModelFactory(name="gpt-old", provider=openai)
    source = project_json(
        [{"name": "gpt-new", "provider": "openai"}, {"name": "gpt-old", "provider": "openai", "successor": "gpt-new"}]
    )
    (old,) = shown(source, "gpt-old")

    with pytest.raises(DriftNotAccepted) as refused:
        accept_drift(source, accepted=[old], actor=None)

    assert refused.value.problems == ["gpt-old: successor: No model named 'gpt-new' in the file or the registry."]
    assert AIModel.objects.get(name="gpt-old").successor is None
    assert not AuditEntry.objects.filter(object_type="aimodel", action="update").exists()


def test_a_gone_model_deleted_since_the_preview_is_stale_not_recreated():
    openai = ProviderFactory(slug="openai")
    AIModelFactory(name="gpt-gone", provider=openai)
    source = litellm({"gpt-x": {"litellm_provider": "openai", "mode": "chat"}})
    (gone,) = shown(source, "gpt-gone")
    AIModel.objects.filter(name="gpt-gone").delete()

    with pytest.raises(DriftNotAccepted) as refused:
        accept_drift(source, accepted=[gone], actor=None)

    assert (refused.value.stale, refused.value.problems) == (["gpt-gone"], [])
    assert not AIModel.objects.filter(name="gpt-gone").exists()
