"""Whatever a file holds, in LiteLLM's format or in the project's own columns, the importer
answers with a report, never a crash (docs/contract.md section 5: catalogs other than the one in
shared/ will be thrown at it). Each entry is stored and audited once, or reported with
field-level reasons and leaves nothing behind. This property found names with a NUL
reaching PostgreSQL, which refuses them (a 500)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.models import AuditEntry
from models_registry.importing import ImportFileError, import_models, read_source
from models_registry.importing.plan import NEW
from models_registry.models import AIModel
from models_registry.resources import COLUMNS

KEYS = [
    "litellm_provider", "mode", "max_input_tokens", "max_output_tokens", "max_tokens", "input_cost_per_token",
    "output_cost_per_token", "deprecation_date", "alias_of", "supports_vision", "supports_function_calling",
    "supports_native_streaming", "source", "tiered_pricing",
]  # fmt: skip
# Every JSON type, with the awkward values: numbers beyond 64 bits, non-finite floats
# (Python's json reads NaN and Infinity), control characters, NUL, lone surrogates.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["openai", "chat", "embedding", "2025-06-30", "2025-13-45", "1e-6", "0.000001", "128000", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
entries = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), values, max_size=8)
names = st.sampled_from(["gpt-x", "GPT-X", "openai/gpt-x", "a:b@c+d", "bad name", "nul\x00", "", "x" * 201])
catalogs = st.dictionaries(names | st.text(max_size=20), entries | values, max_size=6)
# The project's JSON format: a list of objects in its columns, any value in any of them.
items = st.dictionaries(st.sampled_from(COLUMNS), values, max_size=10) | st.fixed_dictionaries(
    {"name": names, "provider": st.sampled_from(["openai", "Bad Slug", ""])}, optional={"successor": names}
)
item_lists = st.lists(items | values, max_size=5)


class TestAnyCatalog(TestCase):
    @settings(max_examples=100)
    @given(catalogs)
    def test_each_litellm_entry_is_stored_and_audited_or_reported_and_leaves_nothing(self, catalog):
        self.check_import(json.dumps(catalog).encode(), "litellm")

    @settings(max_examples=100)
    @given(item_lists)
    def test_each_item_of_a_json_file_is_stored_and_audited_or_reported_and_leaves_nothing(self, items):
        self.check_import(json.dumps(items).encode(), "json")

    def check_import(self, data: bytes, fmt: str):
        try:
            source = read_source(f"catalog.{fmt}", data, fmt)
        except ImportFileError as error:
            assert str(error)
            return

        report = import_models(source, actor=None, skip_invalid=True)

        for row in report.invalid_rows:
            assert row.errors, row.ref
            for column, messages in row.errors.items():
                assert messages and all(isinstance(text, str) and text for text in messages), (column, messages)
        created = {row.name for row in report.rows if row.source.alias_of is None and row.kind == NEW}
        assert set(AIModel.objects.values_list("name", flat=True)) == created
        assert AuditEntry.objects.filter(object_type="aimodel").count() == len(created)
