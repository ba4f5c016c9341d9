"""A statement compiled once (common/compiled.py) gives, for any value, the rows its
QuerySet gives for that value, and is not built again."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from common.compiled import CompiledValues
from common.lookups import any_parameter
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory


def models_with(ids):
    return AIModel.objects.filter(pk__any=ids).values("pk", "name", "created_at", "deprecation_date", "metadata")


def by_pk(rows):
    return sorted(rows, key=lambda row: row["pk"])


class CompiledValuesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ids = [model.pk for model in AIModelFactory.create_batch(4, metadata={"tier": "a"})]

    @settings(max_examples=30)
    @given(st.data())
    def test_the_rows_are_the_querysets_own_for_any_ids(self, data):
        compiled = CompiledValues(models_with, sample=[0], parameter=any_parameter)
        for _ in range(3):  # the first use compiles, the others reuse it
            ids = data.draw(st.lists(st.sampled_from([*self.ids, 0, -1]), max_size=6))

            assert by_pk(compiled.rows(ids)) == by_pk(models_with(ids))

    def test_the_queryset_is_built_once_and_each_use_is_one_statement_with_its_value(self):
        built = []

        def models_named(name):
            built.append(name)
            return AIModel.objects.filter(name=name).values("pk")

        compiled = CompiledValues(models_named, sample="-")
        first, second = AIModel.objects.filter(pk__in=self.ids[:2]).order_by("pk")

        with CaptureQueriesContext(connection) as queries:
            found = [compiled.rows(first.name), compiled.rows(second.name), compiled.rows("nothing-by-this-name")]

        assert found == [[{"pk": first.pk}], [{"pk": second.pk}], []]
        assert built == ["-"]
        assert len(queries) == 3

    def test_a_sample_whose_parameter_is_not_in_the_statement_exactly_once_is_refused(self):
        twice = CompiledValues(lambda text: AIModel.objects.filter(name=text, description=text).values(), sample="x")
        never = CompiledValues(lambda text: AIModel.objects.filter(name__startswith=text).values("pk"), sample="x")

        with pytest.raises(ValueError, match="at 2 places"):
            twice.rows("y")
        with pytest.raises(ValueError, match="at 0 places"):  # `x%`: the value is not the parameter
            never.rows("y")
