"""An import writes the rows it changes set-based (`audit.bulk.update_objects`), foreign keys
included: a model moved to a provider the same file creates, or to a successor the registry
holds, keeps that reference."""

import pytest

from models_registry.importing import import_models, read_source
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_an_updated_model_takes_a_provider_the_same_file_creates():
    AIModelFactory(name="chat-a", provider=ProviderFactory(slug="old-home"))
    successor = AIModelFactory(name="chat-b")
    csv = b"name,provider,successor\nchat-a,new-home,chat-b\n"

    report = import_models(read_source("move.csv", csv, "csv"), actor=None)

    moved = AIModel.objects.select_related("provider").get(name="chat-a")
    assert report.applied and report.summary() == "created=0 updated=1 unchanged=0 invalid=0"
    assert (moved.provider.slug, moved.successor_id) == ("new-home", successor.pk)
