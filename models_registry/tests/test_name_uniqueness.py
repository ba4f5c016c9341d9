"""Property 4: Name Uniqueness Enforcement."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from models_registry.models import AIModel
from models_registry.services import aimodel_update
from models_registry.tests import strategies
from models_registry.tests.factories import AIModelFactory
from models_registry.tests.pools import stored_state


def case_variant(name: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(name, flips + [False] * len(name), strict=False))


class TestNamesAreUniqueInAnyCase(TestCase):
    """Property 4: Name Uniqueness Enforcement.

    Names are unique case-insensitively, across names and aliases, on
    create and on update."""

    @given(strategies.names, st.lists(st.booleans(), max_size=40))
    def test_create_with_a_taken_name_in_any_case_is_refused(self, name, flips):
        taken = AIModelFactory(name=name)
        before = stored_state()

        with pytest.raises(ValidationError) as caught:
            AIModelFactory(name=case_variant(name, flips), provider=taken.provider)

        assert "name" in caught.value.message_dict
        assert stored_state() == before

    @given(strategies.names, st.lists(st.booleans(), max_size=40))
    def test_update_to_a_taken_name_in_any_case_is_refused(self, name, flips):
        AIModelFactory(name=name)
        other = AIModelFactory(name="other-model")

        with pytest.raises(ValidationError) as caught:
            aimodel_update(model=other, actor=None, name=case_variant(name, flips))

        assert "name" in caught.value.message_dict
        assert AIModel.objects.get(pk=other.pk).name == "other-model"

    @given(strategies.names, strategies.aliases, st.lists(st.booleans(), max_size=40))
    def test_names_and_aliases_share_one_namespace(self, name, alias, flips):
        owner = AIModelFactory(name=name, aliases=[alias])

        with pytest.raises(ValidationError) as as_name:
            AIModelFactory(name=case_variant(alias, flips))
        with pytest.raises(ValidationError) as as_alias:
            AIModelFactory(name="third-model", aliases=[case_variant(name, flips)])

        assert "name" in as_name.value.message_dict
        assert "aliases" in as_alias.value.message_dict
        assert list(AIModel.objects.values_list("pk", flat=True)) == [owner.pk]

    @given(strategies.names, st.lists(st.booleans(), max_size=40))
    def test_a_model_may_change_the_case_of_its_own_name(self, name, flips):
        model = AIModelFactory(name=name)

        updated = aimodel_update(model=model, actor=None, name=case_variant(name, flips))

        assert updated.name == case_variant(name, flips)
