"""Importing LiteLLM's real catalog (`model_prices_and_context_window.json`, docs/contract.md section 5).

Every expectation here is derived from the raw JSON with the contract's own rules, written
out again in this file, never by calling the importer's mapping code: a name pattern, a
provider slug pattern, whole-number token counts in range, prices as exact decimals, ISO
dates. The catalog is imported once for the class (`setUpTestData`); each test and each
Hypothesis example runs in its own transaction on top of it.
"""

import datetime
import json
import re
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.models import AuditEntry
from models_registry.importing import import_models, read_path, read_source
from models_registry.limits import METADATA_MAX_BYTES, json_size
from models_registry.models import AIModel, Provider
from models_registry.tests.contract_words import CAPABILITIES, MODEL_TYPES

CATALOG = Path(__file__).resolve().parents[3] / "shared" / "data" / "litellm_model_catalog.json"
pytestmark = pytest.mark.skipif(
    not CATALOG.exists(), reason=f"the LiteLLM catalog is not at {CATALOG} (the repo is cloned beside `shared/`)"
)

# The contract (docs/contract.md section 1), written out here so the test does not read it from the code under test.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
PROVIDER_SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# LiteLLM flag -> capability (docs/contract.md section 5: `supports_*`; the native streaming flag means streaming).
FLAGS = {f"supports_{capability}": capability for capability in CAPABILITIES} | {
    "supports_native_streaming": "streaming"
}
MAPPED_KEYS = {
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "deprecation_date",
    "alias_of",
    *FLAGS,
}
MAX_TOKENS = 100_000_000
TEN_PLACES = Decimal("0.0000000001")


@cache
def exact_catalog() -> dict:
    """The catalog with every number as the Decimal of its JSON text."""
    return json.loads(CATALOG.read_text(encoding="utf-8"), parse_float=Decimal, parse_int=Decimal)


@cache
def plain_catalog() -> dict:
    """The catalog as the json module reads it (what `metadata` keeps)."""
    return json.loads(CATALOG.read_text(encoding="utf-8"))


def per_million(number) -> Decimal | None:
    if number is None:
        return None
    return (number * 1_000_000).quantize(TEN_PLACES, rounding=ROUND_HALF_EVEN)


def plain_text(number: Decimal) -> str:
    """A price as audit diffs show it: plain notation, no trailing zeros."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def whole_number_in(value, low: int, high: int) -> bool:
    return isinstance(value, Decimal) and value == value.to_integral_value() and low <= value <= high


def price_ok(value) -> bool:
    return value is None or (isinstance(value, Decimal) and 0 <= per_million(value) < 1_000_000)


def date_ok(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def name_ok(name: str) -> bool:
    return bool(NAME_PATTERN.match(name)) and len(name) <= 200


def entry_problems(name: str, entry) -> set[str]:
    """The columns a model entry breaks, by the contract."""
    if not isinstance(entry, dict):
        return {"__all__"}
    problems = set()
    if not name_ok(name):
        problems.add("name")
    provider = entry.get("litellm_provider")
    if not (isinstance(provider, str) and PROVIDER_SLUG_PATTERN.match(provider) and len(provider) <= 100):
        problems.add("provider")
    context = entry.get("max_input_tokens")
    if context is not None and context != 0 and not whole_number_in(context, 1, MAX_TOKENS):
        problems.add("context_window")
    output = entry.get("max_output_tokens")
    if output is not None and not whole_number_in(output, 0, MAX_TOKENS):
        problems.add("max_output_tokens")
    if not price_ok(entry.get("input_cost_per_token")):
        problems.add("input_cost_per_million_tokens")
    if not price_ok(entry.get("output_cost_per_token")):
        problems.add("output_cost_per_million_tokens")
    if not date_ok(entry.get("deprecation_date")):
        problems.add("deprecation_date")
    metadata = {key: value for key, value in entry.items() if key not in MAPPED_KEYS}
    if json_size(metadata) > METADATA_MAX_BYTES:  # (no description or aliases: all the budget is metadata's)
        problems.add("metadata")
    return problems


def is_alias_entry(entry) -> bool:
    return isinstance(entry, dict) and entry.get("alias_of") is not None


@cache
def expected_outcome() -> tuple[dict, dict, dict]:
    """(models: name -> entry, aliases: alias -> target name, invalid: key -> columns it breaks)."""
    catalog = exact_catalog()
    invalid = {name: entry_problems(name, entry) for name, entry in catalog.items() if not is_alias_entry(entry)}
    lowered = Counter(name.lower() for name, entry in catalog.items() if not is_alias_entry(entry))
    for name in invalid:
        if lowered[name.lower()] > 1:
            invalid[name].add("name")
    invalid = {name: columns for name, columns in invalid.items() if columns}
    models = {name: entry for name, entry in catalog.items() if not is_alias_entry(entry) and name not in invalid}
    by_lowered = {name.lower(): name for name in models}
    aliases = {}
    for name, entry in catalog.items():
        if not is_alias_entry(entry):
            continue
        target = by_lowered.get(str(entry["alias_of"]).lower())
        if not name_ok(name):
            invalid[name] = {"name"}
        elif target is None:
            invalid[name] = {"alias_of"}
        else:
            aliases[name] = target
    return models, aliases, invalid


def expected_model(name: str) -> dict:
    """What the registry should hold for one valid model entry, derived from the raw JSON."""
    entry, plain = exact_catalog()[name], plain_catalog()[name]
    mode = entry.get("mode")
    metadata = {key: value for key, value in plain.items() if key not in MAPPED_KEYS}
    if mode is not None and mode not in MODEL_TYPES:
        metadata["mode"] = mode  # an unknown mode is not mapped, so it is kept
    context = entry.get("max_input_tokens")
    output = entry.get("max_output_tokens")
    date = entry.get("deprecation_date")
    return {
        "provider": entry["litellm_provider"],
        "model_type": mode if mode in MODEL_TYPES else "other",
        "context_window": None if context in (None, 0) else int(context),
        "max_output_tokens": None if output is None else int(output),
        "input_cost_per_million_tokens": per_million(entry.get("input_cost_per_token")),
        "output_cost_per_million_tokens": per_million(entry.get("output_cost_per_token")),
        "capabilities": sorted({capability for flag, capability in FLAGS.items() if entry.get(flag) is True}),
        "deprecation_date": datetime.date.fromisoformat(date) if date else None,
        "metadata": metadata,
    }


def stored_model(model: AIModel) -> dict:
    return {
        "provider": model.provider.slug,
        "model_type": model.model_type,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "input_cost_per_million_tokens": model.input_cost_per_million_tokens,
        "output_cost_per_million_tokens": model.output_cost_per_million_tokens,
        "capabilities": model.capabilities,
        "deprecation_date": model.deprecation_date,
        "metadata": model.metadata,
    }


def sampled_keys() -> list[str]:
    if not CATALOG.exists():
        return ["absent"]
    models, aliases, _ = expected_outcome()
    return sorted(models) + sorted(aliases)


def registry_counts() -> tuple:
    return (
        AIModel.objects.count(),
        Provider.objects.count(),
        AuditEntry.objects.count(),
        AIModel.history.model.objects.count(),
    )


class TestImportingTheLiteLLMCatalog(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.importer = get_user_model().objects.create_user(username="catalog-importer")
        report = import_models(read_path(str(CATALOG)), actor=cls.importer, reason="sync", skip_invalid=True)
        cls.applied = report.applied
        cls.summary = report.summary()
        cls.reported = {row.ref: {column for column in row.errors} for row in report.invalid_rows}
        cls.reported_messages = {row.ref: row.errors for row in report.invalid_rows}

    def test_every_valid_entry_is_imported_and_every_other_one_reported_with_its_reasons(self):
        models, aliases, invalid = expected_outcome()

        stored_names = set(AIModel.objects.values_list("name", flat=True))
        stored_aliases = {
            alias: name for name, names in AIModel.objects.values_list("name", "aliases") for alias in names
        }

        assert self.applied is True
        assert self.summary == f"created={len(models) + len(aliases)} updated=0 unchanged=0 invalid={len(invalid)}"
        assert stored_names == set(models)
        assert stored_aliases == aliases
        assert set(self.reported) == {f"key {name!r}" for name in invalid}
        for name, columns in invalid.items():
            ref = f"key {name!r}"
            # Each reason names a column the entry really breaks, with a message.
            assert self.reported[ref], ref
            assert self.reported[ref] <= columns, (ref, self.reported_messages[ref])
            assert all(self.reported_messages[ref][column] for column in self.reported[ref])
        assert set(Provider.objects.values_list("slug", flat=True)) == {
            entry["litellm_provider"] for entry in models.values()
        }

    def test_the_import_is_audited_once_per_object_under_the_importer(self):
        models, _, _ = expected_outcome()
        providers = {entry["litellm_provider"] for entry in models.values()}

        entries = AuditEntry.objects.filter(object_type="aimodel")
        history = AIModel.history.model.objects.all()

        assert entries.filter(action="create").count() == len(models)
        assert set(entries.values_list("username", "source", "reason")) == {
            ("catalog-importer", "import", "import litellm_model_catalog.json: sync")
        }
        assert len(set(entries.values_list("request_id", flat=True))) == 1
        assert set(entries.values_list("object_repr", flat=True)) == set(models)
        assert history.filter(history_type="+").count() == len(models)
        assert AuditEntry.objects.filter(object_type="provider", action="create").count() == len(providers)
        assert set(AIModel.objects.values_list("created_by", flat=True)) == {"catalog-importer"}

    @settings(max_examples=80)
    @given(st.sampled_from(sampled_keys()))
    def test_each_entry_is_stored_as_the_file_says(self, key):
        _, aliases, _ = expected_outcome()

        if key in aliases:
            target = AIModel.objects.get(name=aliases[key])
            assert key in target.aliases
            assert not AIModel.objects.filter(name__iexact=key).exists()
        else:
            model = AIModel.objects.select_related("provider").get(name=key)
            assert stored_model(model) == expected_model(key)

    def test_reimporting_the_same_file_changes_nothing(self):
        models, aliases, invalid = expected_outcome()
        before = registry_counts()
        versions = dict(AIModel.objects.values_list("name", "version"))

        report = import_models(read_path(str(CATALOG)), actor=self.importer, skip_invalid=True)

        assert report.summary() == (
            f"created=0 updated=0 unchanged={len(models) + len(aliases)} invalid={len(invalid)}"
        )
        assert registry_counts() == before
        assert dict(AIModel.objects.values_list("name", "version")) == versions

    def test_reimporting_a_changed_price_updates_only_that_model(self):
        catalog = plain_catalog()
        name = next(key for key in sorted(expected_outcome()[0]) if catalog[key].get("input_cost_per_token"))
        changed = {key: dict(entry) for key, entry in catalog.items()}
        changed[name]["input_cost_per_token"] = 0.0000123
        before = AuditEntry.objects.count()

        report = import_models(
            read_source("changed.json", json.dumps(changed).encode(), "litellm"), actor=None, skip_invalid=True
        )

        entries = list(AuditEntry.objects.order_by("id")[before:])
        assert report.summary().startswith("created=0 updated=1 ")
        assert AIModel.objects.get(name=name).input_cost_per_million_tokens == Decimal("12.3")
        assert [(e.action, e.object_repr) for e in entries] == [("update", name)]
        assert entries[0].changes == {
            "input_cost_per_million_tokens": {
                "old": plain_text(per_million(exact_catalog()[name]["input_cost_per_token"])),
                "new": "12.3",
            }
        }


@pytest.mark.django_db
def test_by_default_an_import_with_any_invalid_entry_applies_nothing():
    _, _, invalid = expected_outcome()
    assert invalid, "the catalog has no invalid entry to refuse"
    before = registry_counts()

    report = import_models(read_path(str(CATALOG)), actor=None)

    assert report.applied is False
    assert {row.ref for row in report.invalid_rows} == {f"key {name!r}" for name in invalid}
    assert registry_counts() == before == (0, 0, 0, 0)


@pytest.mark.django_db
def test_an_alias_entry_naming_no_model_is_reported():
    catalog = {
        "real-model": {"litellm_provider": "openai", "mode": "chat"},
        "alias-of-nothing": {"alias_of": "ghost-model"},
        "good-alias": {"alias_of": "REAL-model"},
    }

    report = import_models(
        read_source("c.json", json.dumps(catalog).encode(), "litellm"), actor=None, skip_invalid=True
    )

    assert {row.ref: set(row.errors) for row in report.invalid_rows} == {"key 'alias-of-nothing'": {"alias_of"}}
    assert AIModel.objects.get(name="real-model").aliases == ["good-alias"]


@pytest.mark.django_db
def test_a_mode_that_is_not_text_is_kept_in_metadata_like_any_unknown_mode():
    catalog = {
        "listed-mode": {"litellm_provider": "openai", "mode": ["chat"]},
        "object-mode": {"litellm_provider": "openai", "mode": {"chat": True}},
    }

    report = import_models(read_source("c.json", json.dumps(catalog).encode(), "litellm"), actor=None)

    assert report.applied is True
    stored = {model.name: (model.model_type, model.metadata) for model in AIModel.objects.all()}
    assert stored == {
        "listed-mode": ("other", {"mode": ["chat"]}),
        "object-mode": ("other", {"mode": {"chat": True}}),
    }
