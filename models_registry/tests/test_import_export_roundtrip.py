"""Export and import in the project's own columns round-trip exactly (docs/contract.md section 5),
in CSV, JSON and XLSX; spreadsheet formats never hand a formula to a spreadsheet."""

import csv
import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from openpyxl import load_workbook

from audit.models import AuditEntry
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.exporting import write_csv, write_json, write_xlsx
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, Provider
from models_registry.services import aimodel_create, aimodel_delete, reference_delete
from models_registry.tests import strategies
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

FORMATS = ["csv", "json", "xlsx"]
COLUMNS = [
    "name", "display_name", "provider", "model_type", "capabilities", "context_window", "max_output_tokens",
    "input_cost_per_million_tokens", "output_cost_per_million_tokens", "status", "deprecation_date", "sunset_date",
    "successor", "description", "aliases", "industries", "metadata",
]  # fmt: skip
PROVIDERS = ["p-one", "p-two.eu"]
INDUSTRIES = ["general", "healthcare", "finance"]
FORMULA_STARTS = ["=", "+", "-", "@", "'"]

# Free text: any printable character, tabs and newlines (control characters are tested apart, below).
safe_text = st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n"), max_size=30)
spreadsheet_text = safe_text | st.tuples(st.sampled_from(FORMULA_STARTS), safe_text).map("".join)
# A display name: the same, without whitespace around it or invisible characters (the name rule).
label_text = st.text(strategies.label_characters, max_size=30).map(str.strip)
spreadsheet_label = label_text | st.tuples(st.sampled_from(FORMULA_STARTS), label_text).map("".join)
json_keys = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=8)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=8,
)
industry_settings = st.fixed_dictionaries(
    {},
    optional={
        "notes": spreadsheet_text,
        "max_temperature": st.floats(0, 2),
        "personal_data_allowed": st.booleans(),
        "data_residency": st.lists(st.sampled_from(["us", "eu", "uk", "apac"]), unique=True, max_size=3),
    },
)
profiles = st.lists(
    st.tuples(st.sampled_from(INDUSTRIES), st.booleans(), industry_settings), unique_by=lambda p: p[0], max_size=3
)


@st.composite
def registries(draw) -> list[dict]:
    """A few models as a caller would give them; a model's successor comes later in the list."""
    names = draw(st.lists(strategies.names, min_size=1, max_size=4, unique_by=str.lower))
    taken, models = set(), []
    for index, name in enumerate(names):
        aliases = [alias for alias in draw(strategies.alias_lists) if alias.lower() not in taken]
        taken |= {alias.lower() for alias in aliases}
        later = names[index + 1 :]
        deprecation_date = draw(st.none() | st.dates())
        models.append(
            {
                "name": name,
                "display_name": draw(spreadsheet_label),
                "provider": draw(st.sampled_from(PROVIDERS)),
                "model_type": draw(st.sampled_from(ModelType.values)),
                "capabilities": draw(st.lists(st.sampled_from(Capability.values), max_size=5)),
                "context_window": draw(st.none() | st.integers(1, 100_000_000)),
                "max_output_tokens": draw(st.none() | st.integers(0, 100_000_000)),
                "input_cost_per_million_tokens": draw(st.none() | strategies.costs),
                "output_cost_per_million_tokens": draw(st.none() | strategies.costs),
                "status": draw(st.sampled_from(ModelStatus.values)),
                "deprecation_date": deprecation_date,
                "sunset_date": draw(st.none() | st.dates(min_value=deprecation_date or datetime.date.min)),
                "successor": draw(st.none() | st.sampled_from(later)) if later else None,
                "description": draw(spreadsheet_text),
                "aliases": aliases,
                "industries": draw(profiles),
                "metadata": draw(st.dictionaries(json_keys, json_values, max_size=4)),
            }
        )
    return models


def build(registry: list[dict]) -> None:
    providers = {slug: ProviderFactory(slug=slug) for slug in PROVIDERS}
    created = {}
    for spec in reversed(registry):  # successors first
        fields = {key: value for key, value in spec.items() if key not in ("provider", "successor", "industries")}
        created[spec["name"]] = aimodel_create(
            actor=None,
            provider=providers[spec["provider"]],
            successor=created[spec["successor"]] if spec["successor"] else None,
            industries=[profile(slug, enabled, **options) for slug, enabled, options in spec["industries"]],
            **fields,
        )


def expected_state(registry: list[dict]) -> dict:
    state = {}
    for spec in registry:
        values = dict(spec, capabilities=sorted(set(spec["capabilities"])))
        values["industries"] = sorted((slug, enabled, options) for slug, enabled, options in spec["industries"])
        state[values.pop("name")] = values
    return state


def registry_state() -> dict:
    """Every model's exported columns, read back from the database."""
    state = {}
    models = AIModel.objects.select_related("provider", "successor").prefetch_related("industry_profiles__industry")
    for model in models:
        state[model.name] = {
            "display_name": model.display_name,
            "provider": model.provider.slug,
            "model_type": model.model_type,
            "capabilities": model.capabilities,
            "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "input_cost_per_million_tokens": model.input_cost_per_million_tokens,
            "output_cost_per_million_tokens": model.output_cost_per_million_tokens,
            "status": model.status,
            "deprecation_date": model.deprecation_date,
            "sunset_date": model.sunset_date,
            "successor": model.successor.name if model.successor else None,
            "description": model.description,
            "aliases": model.aliases,
            "industries": sorted((p.industry.slug, p.enabled, p.settings) for p in model.industry_profiles.all()),
            "metadata": model.metadata,
        }
    return state


def export(fmt: str) -> bytes:
    models = AIModel.objects.all()
    if fmt == "xlsx":
        stream = io.BytesIO()
        write_xlsx(models, stream)
        return stream.getvalue()
    text = io.StringIO()
    {"csv": write_csv, "json": write_json}[fmt](models, text)
    return text.getvalue().encode()


def empty_the_registry() -> None:
    """Every model, then every provider, deleted through the services (predecessors first)."""
    remaining = list(AIModel.objects.select_related("successor"))
    while remaining:
        successors = {model.successor_id for model in remaining}
        for model in [model for model in remaining if model.pk not in successors]:
            aimodel_delete(model=model, actor=None)
        remaining = list(AIModel.objects.select_related("successor"))
    for provider in Provider.objects.all():
        reference_delete(instance=provider, actor=None)


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


class TestExportThenImportRoundTrips(TestCase):
    @settings(max_examples=25)
    @given(registries())
    def test_importing_an_export_changes_nothing(self, registry):
        build(registry)
        original = registry_state()
        assert original == expected_state(registry)

        for fmt in FORMATS:
            entries = AuditEntry.objects.count()

            report = import_models(read_source(f"registry.{fmt}", export(fmt)), actor=None)

            assert report.summary() == f"created=0 updated=0 unchanged={len(registry)} invalid=0", (
                fmt,
                {row.ref: row.errors or row.changes for row in report.rows},
            )
            assert report.applied is True
            assert AuditEntry.objects.count() == entries, fmt
            assert registry_state() == original, fmt

    @settings(max_examples=25)
    @given(registries())
    def test_importing_an_export_into_an_empty_registry_recreates_every_model(self, registry):
        build(registry)
        original = registry_state()
        exports = {fmt: export(fmt) for fmt in FORMATS}

        for fmt in FORMATS:
            empty_the_registry()
            assert (AIModel.objects.count(), Provider.objects.count()) == (0, 0)

            report = import_models(read_source(f"registry.{fmt}", exports[fmt]), actor=None)

            assert report.summary() == f"created={len(registry)} updated=0 unchanged=0 invalid=0", (
                fmt,
                {row.ref: row.errors for row in report.invalid_rows},
            )
            assert registry_state() == original, fmt
            if fmt == "xlsx":
                assert xlsx_rows(export(fmt)) == xlsx_rows(exports[fmt])
            else:
                assert export(fmt) == exports[fmt], fmt


@pytest.mark.django_db
def test_csv_export_escapes_cells_a_spreadsheet_would_run_as_formulas():
    AIModelFactory(name="calc", display_name="@cmd", description="=SUM(A1)")
    AIModelFactory(name="quote", display_name="-2+3", description="'already quoted")

    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(export("csv").decode()))}

    assert (rows["calc"]["display_name"], rows["calc"]["description"]) == ("'@cmd", "'=SUM(A1)")
    assert (rows["quote"]["display_name"], rows["quote"]["description"]) == ("'-2+3", "''already quoted")
    assert list(rows["calc"]) == COLUMNS


@pytest.mark.django_db
def test_csv_import_takes_the_escaping_apostrophe_off_again():
    AIModelFactory(name="calc", display_name="@cmd", description="=SUM(A1)")
    AIModelFactory(name="quote", display_name="+", description="'already quoted")
    data = export("csv")
    empty_the_registry()

    import_models(read_source("models.csv", data), actor=None)

    assert sorted(AIModel.objects.values_list("name", "display_name", "description")) == [
        ("calc", "@cmd", "=SUM(A1)"),
        ("quote", "+", "'already quoted"),
    ]


@pytest.mark.django_db
def test_xlsx_export_writes_strings_never_formulas():
    AIModelFactory(name="calc", display_name="+cmd|' /C calc'!A0", description="=SUM(A1)")

    sheet = load_workbook(io.BytesIO(export("xlsx"))).worksheets[0]
    header, row = (list(line) for line in sheet.iter_rows())
    cells = dict(zip([cell.value for cell in header], row, strict=True))

    assert [cell.value for cell in header] == COLUMNS
    assert (cells["description"].value, cells["description"].data_type) == ("'=SUM(A1)", "s")
    assert (cells["display_name"].value, cells["display_name"].data_type) == ("'+cmd|' /C calc'!A0", "s")
    assert not [cell.coordinate for line in sheet.iter_rows() for cell in line if cell.data_type == "f"]


@pytest.mark.django_db
def test_json_export_keeps_text_as_it_is_and_values_native():
    AIModelFactory(
        name="calc",
        description="=SUM(A1)",
        capabilities=["vision", "streaming"],
        input_cost_per_million_tokens="0.0046875",
        metadata={"tier": "ünïcode ✓", "n": 1.5},
    )

    [item] = json.loads(export("json"))

    assert list(item) == COLUMNS
    assert item["description"] == "=SUM(A1)"
    assert item["capabilities"] == ["streaming", "vision"]
    assert item["input_cost_per_million_tokens"] == "0.0046875"
    assert item["metadata"] == {"tier": "ünïcode ✓", "n": 1.5}


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "typed, stored",
    [("line one\rline two", "line one\nline two"), ("line one\r\nline two", "line one\nline two"),
     ("tab\tand\nnewline", "tab\tand\nnewline")],
    ids=["carriage-return", "crlf", "tab-and-newline"],
)  # fmt: skip
def test_text_with_line_breaks_round_trips_in_every_format(fmt, typed, stored):
    # Line endings are stored as "\n" whatever sent them; then every export carries the text back exactly.
    AIModelFactory(name="odd-text", description=typed)
    assert AIModel.objects.get(name="odd-text").description == stored
    data = export(fmt)
    empty_the_registry()

    report = import_models(read_source(f"models.{fmt}", data), actor=None)

    assert report.summary() == "created=1 updated=0 unchanged=0 invalid=0"
    assert AIModel.objects.get(name="odd-text").description == stored


@pytest.mark.django_db
@pytest.mark.parametrize("description", ["bell\x07 and escape\x1b", "vertical\x0btab", "form\x0cfeed"])
def test_other_control_characters_are_refused_so_every_format_can_carry_the_text(description):
    provider = ProviderFactory()

    with pytest.raises(ValidationError) as caught:
        AIModelFactory(name="odd-text", description=description, provider=provider)

    assert set(caught.value.message_dict) == {"description"}
    assert not AIModel.objects.filter(name="odd-text").exists()


@pytest.mark.django_db
def test_an_import_adds_changes_and_removes_industry_profiles_each_audited():
    AIModelFactory(
        name="gpt-x",
        industries=[profile("general", notes="keep"), profile("finance", model_risk_tier="low"), profile("legal")],
    )
    wanted = [
        {"industry": "general", "enabled": True, "settings": {"notes": "keep"}},
        {"industry": "finance", "enabled": False, "settings": {"model_risk_tier": "high"}},
        {"industry": "healthcare", "enabled": True, "settings": {"phi_allowed": False}},
    ]
    before = AuditEntry.objects.count()

    report = import_models(
        read_source("m.json", json.dumps([{"name": "gpt-x", "industries": wanted}]).encode()), actor=None
    )

    model = AIModel.objects.get(name="gpt-x")
    entries = AuditEntry.objects.order_by("id")[before:]
    assert report.summary() == "created=0 updated=1 unchanged=0 invalid=0"
    assert sorted((p.industry.slug, p.enabled, p.settings) for p in model.industry_profiles.all()) == [
        ("finance", False, {"model_risk_tier": "high"}),
        ("general", True, {"notes": "keep"}),
        ("healthcare", True, {"phi_allowed": False}),
    ]
    assert sorted((e.action, e.object_type, e.object_repr) for e in entries) == [
        ("create", "modelindustryprofile", "gpt-x / healthcare"),
        ("delete", "modelindustryprofile", "gpt-x / legal"),
        ("update", "modelindustryprofile", "gpt-x / finance"),
    ]
    assert model.industry_profiles.model.history.filter(history_type="-").count() == 1
