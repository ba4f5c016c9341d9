"""The ids and names of an `__any` lookup (common/lookups.py) go to PostgreSQL as the text
of one array literal, built in Python: every value must arrive as it was, whatever it holds."""

import pytest
from django.db import DataError, connection
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from common.lookups import array_literal
from models_registry.models import RegisteredName
from models_registry.tests.factories import AIModelFactory

# What an array literal gives meaning to, and what SQL quoting does.
SYNTAX = ["", " ", " a ", '"', "\\", '\\"', "{", "}", "{}", ",", "NULL", "null", "'", "a,b", '{"a"}', "\t\n\r"]
# Any text PostgreSQL can hold: NUL is refused (below); lone surrogates are not UTF-8.
storable_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
texts = st.lists(st.sampled_from(SYNTAX) | storable_text, max_size=20)
names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=50)


def database_array(literal: str, array_type: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{array_type}", [literal])
        return cursor.fetchone()[0]


@pytest.mark.postgres
class ArrayLiteralTests(TestCase):
    @given(texts)
    def test_any_list_of_text_arrives_as_it_was(self, values):
        assert database_array(array_literal(values), "text[]") == values

    @given(st.lists(st.integers(-(2**63), 2**63 - 1) | st.none(), max_size=20))
    def test_any_list_of_ids_arrives_as_it_was(self, values):
        assert database_array(array_literal(values), "bigint[]") == values

    @given(st.lists(storable_text | st.none(), max_size=20))
    def test_a_missing_value_is_null_and_the_word_null_is_text(self, values):
        values = [*values, None, "NULL"]

        assert database_array(array_literal(values), "text[]") == values

    def test_a_nul_character_is_refused_before_the_query_runs(self):
        with pytest.raises(DataError, match="NUL"):
            list(RegisteredName.objects.filter(name__any=["gpt\x00"]))


class AnyOfLookupTests(TestCase):
    @given(st.lists(st.sampled_from(SYNTAX[1:]) | names, min_size=1, max_size=8, unique=True))
    def test_names_are_found_exactly_whatever_they_hold(self, values):
        """The product stores names folded and well-formed; the lookup itself must not care:
        each stored name asked for is found, and nothing else (on SQLite, from a JSON array)."""
        model = AIModelFactory()
        stored, asked = values[: len(values) // 2 + 1], values[len(values) // 2 :]
        RegisteredName.objects.filter(model=model).delete()
        RegisteredName.objects.bulk_create([RegisteredName(name=name, model=model) for name in stored])

        found = RegisteredName.objects.filter(name__any=asked).values_list("name", flat=True)

        assert set(found) == set(stored) & set(asked)

    def test_ids_are_found_through_a_foreign_key_and_the_primary_key(self):
        first, second, _ = AIModelFactory.create_batch(3)

        by_pk = set(type(first).objects.filter(pk__any=[first.pk, second.pk, 0]).values_list("pk", flat=True))
        by_model = set(RegisteredName.objects.filter(model__any=[second.pk]).values_list("model_id", flat=True))

        assert by_pk == {first.pk, second.pk}
        assert by_model == {second.pk}
        assert not RegisteredName.objects.filter(name__any=[]).exists()
