"""The indexes the registry's lookups are meant to use are the ones PostgreSQL picks, on a
table large enough that it would scan the whole table without them."""

import pytest
from django.db import connection

from models_registry.models import ModelDependency
from models_registry.selectors import dependencies_of_component, models_depended_on_by
from models_registry.tests.factories import AIModelFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def analyze(model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")


def test_the_models_a_component_uses_are_read_from_the_component_indexes():
    models = AIModelFactory.create_batch(20)
    ModelDependency.objects.bulk_create(
        ModelDependency(model=models[n % 20], component_type="agent", component_id=f"agent-{n}",
                        component_name=f"Agent {n}")
        for n in range(5_000)
    )  # fmt: skip
    analyze(ModelDependency)

    plan = dependencies_of_component("Agent 7").explain()

    assert "dependency_component_name" in plan and "dependency_component_id" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert models_depended_on_by("Agent 7") == {models[7].pk}
    assert models_depended_on_by("agent-8") == {models[8].pk}
