"""The benchmarks' synthetic catalog is written in SQL, past the models' save(): its rows must
still be rows the registry could have written, or the list and search benchmarks measure
something the product never serves."""

import pytest

from bench.seeding import SyntheticCatalog
from models_registry.models import AIModel


@pytest.mark.django_db(transaction=True)
def test_seeded_models_carry_the_search_text_their_fields_fold_to():
    SyntheticCatalog().add(30)

    field = AIModel._meta.get_field("search_text")
    models = list(AIModel.objects.order_by("pk"))
    assert len(models) == 30
    assert any(model.aliases for model in models)  # the alias branch is covered
    for model in models:
        assert model.search_text == field.folded(model), model.name
