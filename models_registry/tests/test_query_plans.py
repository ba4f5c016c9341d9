"""The indexes the registry's lookups are meant to use are the ones PostgreSQL picks, on a
table large enough that it would scan the whole table without them."""

import datetime
import re

import pytest
from django.db import connection
from django.http import QueryDict

from models_registry.models import AIModel, ModelDependency
from models_registry.selectors import (
    aimodel_filter,
    dependencies_of_component,
    models_depended_on_by,
    upcoming_deprecations,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory

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


@pytest.fixture
def catalog():
    """5,000 models over 50 providers, skewed as real catalogs are (the first provider holds
    a tenth of them): enough rows that a whole scan and sort is what the planner would do
    without an index that fits."""
    providers = [ProviderFactory(slug=f"p{number}") for number in range(50)]
    AIModel.objects.bulk_create(
        AIModel(
            name=f"m-{number:05d}",
            provider=providers[0 if number % 10 == 0 else 1 + number % 49],
            context_window=1 + (number * 7919) % 200_000,
        )
        for number in range(5_000)
    )
    analyze(AIModel)
    return providers


SORT_NODE = re.compile(r"(^|->)\s*Sort\s+\(", re.MULTILINE)  # a whole sort (not an incremental one)


def first_page(params: str) -> str:
    """The plan of the list API's first page of 50 for these parameters (its order: the
    requested one, then the id)."""
    models = aimodel_filter(QueryDict(params))
    return models.order_by(*(models.query.order_by or ("name",)), "pk")[:50].explain()


def test_one_providers_first_page_is_read_from_the_provider_name_index(catalog):
    plan = first_page(f"provider={catalog[0].slug}")

    assert "aimodel_provider_name_id" in plan, plan
    assert not SORT_NODE.search(plan), plan  # read in order, the first 50 only


def test_a_first_page_by_context_window_is_read_from_its_index(catalog):
    for ordering in ("context_window", "-context_window"):
        plan = first_page(f"ordering={ordering}")

        assert "aimodel_context_window_id" in plan, plan
        # In order from the index; at most ties re-sorted by id (an incremental sort).
        assert not SORT_NODE.search(plan), plan


def test_the_dashboards_deprecations_are_read_in_order_from_their_index(catalog):
    dated = AIModel.objects.filter(name__endswith="7")[:40]
    AIModel.objects.filter(pk__in=[model.pk for model in dated]).update(deprecation_date=datetime.date(2026, 1, 1))
    analyze(AIModel)

    plan = upcoming_deprecations(datetime.date(2026, 6, 1))[:15].explain()

    assert "aimodel_deprecation_date" in plan, plan
    assert not SORT_NODE.search(plan), plan


def test_a_search_that_matches_few_models_is_read_from_the_trigram_index(catalog):
    AIModelFactory(name="zoo/quokka-1", provider=catalog[3])
    with connection.cursor() as cursor:
        # What (auto)vacuum does: the rows just inserted, still in the index's pending list
        # (which the planner counts as a cost), merged into the index itself.
        cursor.execute("SELECT gin_clean_pending_list('aimodel_search_text_trgm'::regclass)")
    analyze(AIModel)

    plan = aimodel_filter(QueryDict("search=quokka")).explain()

    assert "aimodel_search_text_trgm" in plan, plan
    assert "Seq Scan on models_registry_aimodel" not in plan, plan
    assert [model.name for model in aimodel_filter(QueryDict("search=QUOKKA"))] == ["zoo/quokka-1"]
