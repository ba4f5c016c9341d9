"""Property 8: Dependency-Based Deletion Control."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from models_registry.choices import BulkAction
from models_registry.models import AIModel, ModelDependency
from models_registry.services import HasDependenciesError, aimodel_bulk_apply, aimodel_delete, aimodel_update
from models_registry.tests.factories import AIModelFactory
from models_registry.tests.pools import make_pool, pools, registered_dependencies


class TestDeletionUnderDependencies(TestCase):
    """Property 8: Dependency-Based Deletion Control.

    A model is deleted if and only if nothing depends on it, through the
    single delete and the bulk delete alike; a refusal names every dependent."""

    @given(pools, st.booleans())
    def test_models_with_dependencies_are_never_deleted(self, specs, through_bulk):
        pool = make_pool([s for s, _ in specs], [d for _, d in specs])
        expected_dependencies = {model.pk: registered_dependencies(model) for model in pool}

        if through_bulk:
            result = aimodel_bulk_apply(action=BulkAction.DELETE, ids=[m.pk for m in pool], actor=None)
            refused = {
                item.id: sorted((d["component_type"], d["component_id"]) for d in item.dependencies)
                for item in result.results
                if not item.ok
            }
        else:
            refused = {}
            for model in pool:
                try:
                    aimodel_delete(model=model, actor=None)
                except HasDependenciesError as error:
                    refused[model.pk] = sorted((d.component_type, d.component_id) for d in error.dependents)

        for model in pool:
            exists = AIModel.objects.filter(pk=model.pk).exists()
            assert exists == bool(expected_dependencies[model.pk])
            if exists:
                assert refused[model.pk] == expected_dependencies[model.pk]
        assert ModelDependency.objects.filter(model__isnull=True).count() == 0

    def test_a_successor_is_a_dependent_until_its_predecessor_goes(self):
        old, new = AIModelFactory(name="old"), AIModelFactory(name="new")
        aimodel_update(model=old, actor=None, successor=new)

        with pytest.raises(HasDependenciesError) as caught:
            aimodel_delete(model=new, actor=None)
        together = aimodel_bulk_apply(action=BulkAction.DELETE, ids=[new.pk, old.pk], actor=None)

        assert [d.component_type for d in caught.value.dependents] == ["aimodel.successor"]
        assert together.succeeded == 2
        assert not AIModel.objects.filter(pk__in=[old.pk, new.pk]).exists()
