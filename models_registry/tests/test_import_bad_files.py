"""Files an import must refuse, whole or row by row: each gets a clear error that says
where and why, and nothing in the registry changes (docs/contract.md section 5)."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from audit.models import AuditEntry
from models_registry.importing import ImportFileError, import_models, read_path, read_source
from models_registry.importing.readers import max_import_rows
from models_registry.limits import IMPORT_MAX_CELL_CHARACTERS
from models_registry.models import AIModel, Provider, RegisteredName
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def registry_counts() -> tuple:
    return (
        AIModel.objects.count(),
        Provider.objects.count(),
        RegisteredName.objects.count(),
        AuditEntry.objects.count(),
        AIModel.history.model.objects.count(),
    )


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def xlsx_file(*rows: list) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def file_error(name: str, data: bytes, fmt: str | None = None) -> str:
    """The message a whole-file refusal gives; the registry is checked to be untouched."""
    before = registry_counts()
    with pytest.raises(ImportFileError) as caught:
        import_models(read_source(name, data, fmt), actor=None)
    assert registry_counts() == before
    return str(caught.value)


def refused_rows(name: str, data: bytes) -> dict[str, dict]:
    """{ref: errors} of the invalid rows of an import that (by default) applied nothing."""
    before = registry_counts()
    report = import_models(read_source(name, data), actor=None)
    assert report.applied is False
    assert registry_counts() == before
    return {row.ref: row.errors for row in report.invalid_rows}


# Whole files that cannot be read.


@pytest.mark.parametrize("name", ["models.csv", "models.json", "models.xlsx", "catalog.json"])
@pytest.mark.parametrize("data", [b"", b"  \n\t \r\n  "], ids=["empty", "whitespace"])
def test_an_empty_file_is_refused(name, data):
    assert file_error(name, data) == "The file is empty."


@pytest.mark.parametrize(
    ("data", "fmt", "where"),
    [
        (b'[{"name": "gpt-x", "provider": "openai"', None, "at line 1, column 40"),
        (b'[\n  {"name": "gpt-x",\n   "provider": ', None, "at line 3, column 16"),
        (b'{"gpt-x": {"litellm_provider": "openai"', "litellm", "at line 1, column 40"),
    ],
    ids=["list", "multi-line", "litellm"],
)
def test_truncated_json_is_refused_with_the_place_it_breaks(data, fmt, where):
    message = file_error("models.json", data, fmt)

    assert message.startswith("Not valid JSON: ")
    assert message.endswith(f"{where}.")


@pytest.mark.parametrize("data", [b'"a string"', b"42", b"null", b"true"])
def test_json_that_is_not_a_list_of_models_is_refused(data):
    assert file_error("models.json", data) == (
        "Expected a JSON list of models (or use --format litellm for a LiteLLM catalog)."
    )


def test_a_litellm_catalog_that_is_not_an_object_is_refused():
    assert file_error("catalog.json", b'[{"name": "x"}]', "litellm") == (
        "A LiteLLM catalog is a JSON object keyed by model name."
    )


def test_a_json_item_that_is_not_an_object_is_an_invalid_row():
    data = json.dumps([{"name": "fine", "provider": "openai"}, ["not", "an", "object"], "nor this"]).encode()

    assert refused_rows("models.json", data) == {
        "item 2": {"__all__": ["Each item must be a JSON object."]},
        "item 3": {"__all__": ["Each item must be a JSON object."]},
    }


@pytest.mark.parametrize("name", ["models.csv", "models.json"])
def test_a_file_that_is_not_utf8_is_refused(name):
    text = "name,provider,description\nmodèle,openai,café\n" if name.endswith("csv") else '[{"name": "modèle"}]'

    message = file_error(name, text.encode("latin-1"))

    assert message == (
        f"The file is not UTF-8 text (byte 0xe8 at position {text.index('è')}). Save it as UTF-8 and try again."
    )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("name,provider,colour", "unknown columns: 'colour'"),
        ("nmae,provider", "unknown columns: 'nmae'; missing columns: name"),
        ("provider,model_type", "missing columns: name"),
        ("name,provider,name", "repeated columns: name"),
        ("name,provider,", "unknown columns: ''"),
    ],
)
def test_a_csv_with_wrong_columns_is_refused_naming_them(header, problem):
    message = file_error("models.csv", csv_file(header, "gpt-x,openai,x"))

    assert message.startswith(f"Wrong columns ({problem}). The columns are: name, display_name, provider, ")


def test_an_xlsx_with_wrong_columns_is_refused_naming_them():
    message = file_error("models.xlsx", xlsx_file(["name", "provider", "price"], ["gpt-x", "openai", 1]))

    assert message.startswith("Wrong columns (unknown columns: 'price'). The columns are: name, ")


def test_a_json_item_with_unknown_keys_is_refused_naming_them():
    data = json.dumps([{"name": "ok", "provider": "openai"}, {"name": "gpt-x", "price": 1, "colour": "red"}])

    message = file_error("models.json", data.encode())

    assert message.startswith("Item 2 has unknown keys: colour, price. The keys are: name, display_name, ")


def test_a_file_over_the_size_limit_is_refused(settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 100
    at_limit = csv_file("name,provider", "gpt-x,openai").ljust(100, b"\n")
    over = at_limit + b"\n"
    (tmp_path / "over.csv").write_bytes(over)

    message = file_error("over.csv", over)

    with pytest.raises(ImportFileError) as from_disk:
        read_path(str(tmp_path / "over.csv"))
    assert message.startswith("The file is too large (")
    assert str(from_disk.value) == message
    assert [row.cells for row in read_source("at-limit.csv", at_limit).rows] == [
        {"name": "gpt-x", "provider": "openai"}
    ]


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as stream:  # sparse: the test does not write 50 MB
        stream.write(b"name,provider\n")
        stream.truncate(50 * 1024 * 1024)

    with pytest.raises(ImportFileError) as caught:
        read_path(str(big))

    assert str(caught.value) == "The file is too large (50.0 MiB); the limit is 32 MiB."


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        read_path(str(tmp_path / "nowhere.csv"))

    assert str(caught.value) == f"Cannot read {tmp_path / 'nowhere.csv'}: No such file or directory."


def zip_without_workbook() -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return stream.getvalue()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"PK\x03\x04" + b"\x00garbage" * 100, "File is not a zip file"),
        (zip_without_workbook(), "it has no worksheet"),
    ],
    ids=["garbage-after-zip-header", "zip-without-workbook"],
)
def test_a_corrupt_xlsx_is_refused(data, problem):
    assert file_error("models.xlsx", data) == f"Not a readable XLSX workbook: {problem}."


def test_an_xlsx_whose_first_sheet_is_empty_is_refused():
    assert file_error("models.xlsx", xlsx_file()) == "The workbook's first sheet is empty."


def test_an_unknown_format_is_refused():
    assert file_error("models.csv", csv_file("name", "gpt-x"), "yaml") == (
        "Unknown format 'yaml'; use one of csv, json, xlsx, litellm."
    )


def test_a_csv_cut_off_inside_a_quoted_cell_is_refused():
    # Read leniently, the open quote would swallow every following row into one description
    # and the rows after it would vanish without a word.
    data = csv_file("name,provider,description", 'gpt-a,openai,"cut off here', "gpt-b,openai,", "gpt-c,openai,")

    message = file_error("models.csv", data)

    assert message.startswith("Not valid CSV: ")


# Rows that are invalid: reported with where they are and why; by default nothing is applied.


def test_rows_with_the_same_name_are_all_invalid_and_name_each_other():
    data = csv_file("name,provider", "gpt-x,openai", "other,openai", "gpt-x,openai", "GPT-Y,openai", "gpt-y,openai")

    errors = refused_rows("models.csv", data)

    assert errors == {
        "line 2": {"name": ["'gpt-x' appears more than once (also at line 4; names ignore case)."]},
        "line 4": {"name": ["'gpt-x' appears more than once (also at line 2; names ignore case)."]},
        "line 5": {"name": ["'GPT-Y' appears more than once (also at line 6; names ignore case)."]},
        "line 6": {"name": ["'gpt-y' appears more than once (also at line 5; names ignore case)."]},
    }


def test_with_skip_invalid_only_the_rows_without_a_duplicate_are_applied():
    data = csv_file("name,provider", "gpt-x,openai", "other,openai", "GPT-X,openai")

    report = import_models(read_source("models.csv", data), actor=None, skip_invalid=True)

    assert report.summary() == "created=1 updated=0 unchanged=0 invalid=2"
    assert list(AIModel.objects.values_list("name", flat=True)) == ["other"]


def test_a_row_whose_alias_is_another_rows_name_is_invalid():
    data = csv_file("name,provider,aliases", "alpha,openai,", "beta,openai,ALPHA")

    errors = refused_rows("models.csv", data)

    assert errors["line 3"] == {"aliases": ["'alpha' is already a name or alias of alpha."]}
    assert errors["line 2"] == {"name": ["'alpha' is already an alias of beta."]}


def test_rows_sharing_an_alias_are_invalid():
    data = csv_file("name,provider,aliases", "alpha,openai,shared", "beta,openai,SHARED")

    errors = refused_rows("models.csv", data)

    assert errors == {
        "line 2": {"aliases": ["'shared' is already a name or alias of beta."]},
        "line 3": {"aliases": ["'shared' is already a name or alias of alpha."]},
    }


def test_an_alias_taken_by_a_model_outside_the_file_is_invalid():
    AIModelFactory(name="existing", aliases=["old-name"])
    data = csv_file("name,provider,aliases", "newbie,openai,Old-Name", "other,openai,EXISTING")

    errors = refused_rows("models.csv", data)

    assert errors == {
        "line 2": {"aliases": ["'old-name' is already a name or alias of existing."]},
        "line 3": {"aliases": ["'existing' is already a name or alias of existing."]},
    }


def test_an_alias_moved_between_two_models_in_one_file_is_no_collision():
    provider = ProviderFactory(slug="openai")
    AIModelFactory(name="alpha", provider=provider, aliases=["moving"])
    AIModelFactory(name="beta", provider=provider)
    data = csv_file("name,provider,aliases", "alpha,openai,", "beta,openai,moving")

    report = import_models(read_source("models.csv", data), actor=None)

    assert report.summary() == "created=0 updated=2 unchanged=0 invalid=0"
    assert dict(AIModel.objects.values_list("name", "aliases")) == {"alpha": [], "beta": ["moving"]}
    assert dict(RegisteredName.objects.values_list("name", "model__name")) == {
        "alpha": "alpha",
        "beta": "beta",
        "moving": "beta",
    }


BAD_VALUES = [
    ("name", "-leading-dash", "Start with a letter or digit; then letters, digits and . _ : / @ + - only."),
    ("name", "has space", "Start with a letter or digit; then letters, digits and . _ : / @ + - only."),
    ("name", "n" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ("display_name", "d" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ("provider", "Bad Slug", "'Bad Slug': Use lowercase letters, digits, '_', '.' and '-', starting with a letter"),
    ("model_type", "gpt", "Value 'gpt' is not a valid choice."),
    ("capabilities", "vision,telepathy", "Unknown capability: telepathy."),
    ("context_window", "12.5", "Enter a whole number."),
    ("context_window", "lots", "Enter a whole number."),
    ("context_window", "0", "Ensure this value is greater than or equal to 1."),
    ("context_window", "100000001", "Ensure this value is less than or equal to 100000000."),
    ("max_output_tokens", "-1", "Ensure this value is greater than or equal to 0."),
    ("input_cost_per_million_tokens", "abc", "Enter a number."),
    ("input_cost_per_million_tokens", "Infinity", "Enter a number."),
    ("input_cost_per_million_tokens", "-0.01", "Ensure this value is greater than or equal to 0."),
    ("output_cost_per_million_tokens", "0.00000000001", "Ensure that there are no more than 10 decimal places."),
    ("output_cost_per_million_tokens", "1000000", "Ensure that there are no more than 6 digits before the decimal"),
    ("status", "retired", "Value 'retired' is not a valid choice."),
    ("deprecation_date", "2024-13-01", "Enter a date as YYYY-MM-DD."),
    ("deprecation_date", "soon", "Enter a date as YYYY-MM-DD."),
    ("successor", "ghost-model", "No model named 'ghost-model' in the file or the registry."),
    # A NUL is reported, and never sent to PostgreSQL, which refuses it in text (a 500 once).
    ("name", "nul\x00name", "Start with a letter or digit; then letters, digits and . _ : / @ + - only."),
    ("successor", "nul\x00model", "No model named 'nul\\x00model' in the file or the registry."),
    ("aliases", "nul\x00alias", "'nul\\x00alias': Start with a letter or digit"),
    ("aliases", "bad alias", "'bad alias': Start with a letter or digit"),
    ("aliases", "twin,TWIN", "'TWIN' is listed twice or repeats the model's name."),
    ("industries", '[{"industry": "astrology"}]', "Unknown industry 'astrology'."),
    ("industries", '{"industry": "general"}', 'Enter a list of {"industry", "enabled", "settings"} objects.'),
    ("industries", '[{"industry": "general", "enabled": "yes"}]', "general: enabled must be true or false."),
    (
        "industries",
        '[{"industry": "healthcare", "settings": {"max_temperature": 5}}]',
        "healthcare: max_temperature: 5 is greater than the maximum of 2",
    ),
    (  # a setting inside a list is named by its path, the index after a dot
        "industries",
        '[{"industry": "healthcare", "settings": {"data_residency": ["eu", "mars"]}}]',
        "healthcare: data_residency.1: 'mars' is not one of",
    ),
    ("industries", '[{"industry": "general"}, {"industry": "general"}]', "general: listed more than once."),
    ("metadata", "[1, 2]", "Must be a JSON object."),
    ("metadata", "{not json", "Not valid JSON: Expecting property name enclosed in double quotes"),
]


def selectable_id(value):
    """A test id pytest can select by its node id (mutmut runs tests that way): no square
    brackets, no backslashes, no NUL."""
    if not isinstance(value, str):
        return None
    return value.replace("[", "(").replace("]", ")").replace("\\", "~").replace("\x00", "NUL")


@pytest.mark.parametrize(("column", "value", "message"), BAD_VALUES, ids=selectable_id)
def test_an_invalid_value_is_reported_with_the_physical_line_of_its_row(column, value, message):
    good = {"name": "good-one", "provider": "openai", "description": "first line\nsecond line", "status": "active"}
    good["model_type"] = "chat"
    bad = {"name": "bad-one", "provider": "openai", "description": "", column: value}
    stream = io.StringIO()
    writer = csv.DictWriter(stream, list(bad), restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerow(good)  # lines 2 and 3: a quoted cell with a line break
    stream.write("\n")  # line 4: blank
    writer.writerow(bad)  # line 5

    errors = refused_rows("models.csv", stream.getvalue().encode())

    assert list(errors) == ["line 5"]
    assert list(errors["line 5"]) == [column]
    assert any(text.startswith(message) for text in errors["line 5"][column]), errors


def test_invalid_rows_of_an_xlsx_and_a_json_file_say_which_row_and_item():
    xlsx = xlsx_file(["name", "provider", "context_window"], ["ok", "openai", 5], ["bad", "openai", "lots"])
    items = json.dumps([{"name": "ok", "provider": "openai"}, {"name": "bad", "provider": "openai", "status": "x"}])

    assert refused_rows("models.xlsx", xlsx) == {"row 3": {"context_window": ["Enter a whole number."]}}
    assert refused_rows("models.json", items.encode()) == {
        "item 2 (bad)": {"status": ["Value 'x' is not a valid choice."]}
    }


def test_a_row_with_too_many_cells_is_invalid():
    data = csv_file("name,provider", "gpt-x,openai,surplus")

    assert refused_rows("models.csv", data) == {"line 2": {"__all__": ["3 cells for 2 columns"]}}


def test_a_row_with_too_few_cells_is_invalid():
    # A short row is as malformed as a long one; read as it is, its missing cells would
    # silently leave those columns of an existing model unchanged.
    data = csv_file("name,provider,description,status", "gpt-x,openai")

    errors = refused_rows("models.csv", data)

    assert list(errors) == ["line 2"]
    assert "cells for 4 columns" in " ".join(errors["line 2"].get("__all__", []))


def test_a_model_cannot_be_its_own_successor():
    data = csv_file("name,provider,successor", "gpt-x,openai,GPT-X")

    assert refused_rows("models.csv", data) == {"line 2": {"successor": ["A model cannot be its own successor."]}}


def test_a_successor_cycle_inside_the_file_is_invalid():
    data = csv_file("name,provider,successor", "gpt-a,openai,gpt-b", "gpt-b,openai,gpt-c", "gpt-c,openai,gpt-a")

    errors = refused_rows("models.csv", data)

    assert errors == {
        ref: {"successor": ["This successor would make a cycle of successors."]}
        for ref in ("line 2", "line 3", "line 4")
    }


def test_a_successor_cycle_through_the_registry_is_invalid():
    provider = ProviderFactory(slug="openai")
    older, newer = AIModelFactory(name="older", provider=provider), AIModelFactory(name="newer", provider=provider)
    aimodel_update(model=older, actor=None, successor=newer)
    data = csv_file("name,provider,successor", "newer,openai,older")

    errors = refused_rows("models.csv", data)

    assert errors == {"line 2": {"successor": ["This successor would make a cycle of successors."]}}
    assert AIModel.objects.get(name="newer").successor is None


def test_rows_whose_successor_in_the_file_is_invalid_are_invalid_too_up_the_chain():
    # gpt-a -> gpt-b -> gpt-c, and gpt-c fails validation (a context window of 0); gpt-e
    # -> gpt-f, and gpt-f cannot even be read. Once crashed the --skip-invalid import,
    # which wrote gpt-a and gpt-b pointing at a model never saved.
    data = csv_file(
        "name,provider,successor,context_window",
        "gpt-a,openai,gpt-b,",
        "gpt-b,openai,gpt-c,",
        "gpt-c,openai,,0",
        "gpt-e,openai,gpt-f,",
        "gpt-f,openai,,lots",
        "gpt-d,openai,,",
    )

    assert refused_rows("models.csv", data) == {
        "line 2": {"successor": ["The successor it names (line 3) is invalid."]},
        "line 3": {"successor": ["The successor it names (line 4) is invalid."]},
        "line 4": {"context_window": ["Ensure this value is greater than or equal to 1."]},
        "line 5": {"successor": ["The successor it names (line 6) is invalid."]},
        "line 6": {"context_window": ["Enter a whole number."]},
    }
    report = import_models(read_source("models.csv", data), actor=None, skip_invalid=True)
    assert report.summary() == "created=1 updated=0 unchanged=0 invalid=5"
    assert list(AIModel.objects.values_list("name", flat=True)) == ["gpt-d"]


def test_a_malformed_name_in_a_successor_chain_is_reported_not_looked_up():
    # The chain check once sent "bad\x00name" to PostgreSQL, which refuses NUL (a 500).
    data = json.dumps([{"name": "gpt-a", "provider": "openai", "successor": "bad\x00name"},
                       {"name": "bad\x00name", "provider": "openai"}]).encode()  # fmt: skip

    errors = refused_rows("models.json", data)

    assert errors == {
        "item 1 (gpt-a)": {"successor": ["The successor it names (item 2 ('bad\\x00name')) is invalid."]},
        "item 2 ('bad\\x00name')": {
            "name": ["Start with a letter or digit; then letters, digits and . _ : / @ + - only."]
        },
    }


def test_a_successor_in_the_registry_or_later_in_the_file_is_valid():
    AIModelFactory(name="in-registry")
    data = csv_file("name,provider,successor", "gpt-a,openai,gpt-b", "gpt-b,openai,IN-REGISTRY")

    report = import_models(read_source("models.csv", data), actor=None)

    assert report.summary() == "created=2 updated=0 unchanged=0 invalid=0"
    assert dict(AIModel.objects.filter(successor__isnull=False).values_list("name", "successor__name")) == {
        "gpt-a": "gpt-b",
        "gpt-b": "in-registry",
    }


def test_a_row_for_an_existing_model_without_a_provider_cell_keeps_the_provider():
    AIModelFactory(name="gpt-x", provider=ProviderFactory(slug="openai"))
    data = csv_file("name,status", "gpt-x,deprecated", "brand-new,active")

    errors = refused_rows("models.csv", data)

    assert errors == {"line 3": {"provider": ["This field is required."]}}


# Files built to exhaust the reader (issue 10, item 8): each is refused before the work it
# would cost, with a message, at every door: the importer, `import_models` (exit 2) and the
# admin's import page (a form error). None reaches a RecursionError, an IndexError or a 500.


def deep_json(levels: int, *, litellm: bool = False) -> bytes:
    nested = "[" * levels + "]" * levels
    return (f'{{"gpt-x": {{"litellm_provider": "openai", "extra": {nested}}}}}' if litellm else nested).encode()


def zip_of(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return stream.getvalue()


def xlsx_parts(**replaced: bytes | None) -> dict[str, bytes]:
    """The parts of a valid one-row workbook, with some replaced (None removes one)."""
    with zipfile.ZipFile(io.BytesIO(xlsx_file(["name", "provider"], ["gpt-x", "openai"]))) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    for name, data in replaced.items():
        name = name.replace("__", "/").replace("_xml", ".xml")
        if data is None:
            parts.pop(name)
        else:
            parts[name] = data
    return parts


def xlsx_bomb(inflated: int) -> bytes:
    """A workbook whose worksheet inflates to `inflated` bytes of one repeated byte: the
    zip bomb of the attack (306 KB that inflates to 300 MB), written in chunks."""
    parts = xlsx_parts(xl__worksheets__sheet1_xml=None)
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * 2**20
            for _ in range(inflated // len(chunk)):
                sheet.write(chunk)
    return stream.getvalue()


def workbook_without_sheets() -> bytes:
    """A workbook whose workbook.xml lists no sheet (openpyxl then has no worksheets[0])."""
    parts = xlsx_parts()
    workbook = parts["xl/workbook.xml"].decode()
    start, end = workbook.index("<sheets>"), workbook.index("</sheets>") + len("</sheets>")
    parts["xl/workbook.xml"] = (workbook[:start] + "<sheets/>" + workbook[end:]).encode()
    return zip_of(parts)


def rows_file(fmt: str, count: int) -> tuple[str, bytes]:
    names = [f"gpt-{number}" for number in range(count)]
    if fmt == "csv":
        return "models.csv", csv_file("name,provider", *(f"{name},openai" for name in names))
    if fmt == "json":
        return "models.json", json.dumps([{"name": name, "provider": "openai"} for name in names]).encode()
    if fmt == "litellm":
        return "catalog.json", json.dumps({name: {"litellm_provider": "openai"} for name in names}).encode()
    return "models.xlsx", xlsx_file(["name", "provider"], *([name, "openai"] for name in names))


BAD_FILES = {
    # id: (file name, how to build it, the message starts with, settings)
    "json-5000-deep": ("models.json", lambda: deep_json(5000), "The file is nested deeper than 72 levels", {}),
    "json-900-deep": ("models.json", lambda: deep_json(900), "The file is nested deeper than 72 levels", {}),
    "litellm-5000-deep": (
        "catalog.json",
        lambda: deep_json(5000, litellm=True),
        "The file is nested deeper than 72 levels",
        {},
    ),
    "xlsx-zip-bomb-300mb": (
        "models.xlsx",
        lambda: xlsx_bomb(300 * 2**20),
        "The workbook inflates to 300.",
        {},
    ),
    "xlsx-inflates-past-the-limit": (
        "models.xlsx",
        lambda: xlsx_bomb(3 * 2**20),
        "The workbook inflates to 3.0 MiB uncompressed; the limit is 2.0 MiB (IMPORT_MAX_INFLATED_BYTES).",
        {"IMPORT_MAX_INFLATED_BYTES": 2 * 2**20},
    ),
    "xlsx-part-inflating-1000-times": (
        "models.xlsx",
        lambda: xlsx_bomb(20 * 2**20),
        "Not a readable XLSX workbook: its part 'xl/worksheets/sheet1.xml' inflates ",
        {},
    ),
    "xlsx-too-many-parts": (
        "models.xlsx",
        lambda: zip_of(xlsx_parts() | {f"xl/media/{n}.bin": b"" for n in range(1001)}),
        "Not a readable XLSX workbook: it holds 1,01",
        {},
    ),
    "xlsx-without-worksheet-part": (
        "models.xlsx",
        lambda: zip_of(xlsx_parts(xl__worksheets__sheet1_xml=None)),
        "Not a readable XLSX workbook: it has no worksheet.",
        {},
    ),
    "xlsx-listing-no-sheet": (
        "models.xlsx",
        workbook_without_sheets,
        "Not a readable XLSX workbook: it has no worksheet.",
        {},
    ),
    "xlsx-damaged-part": (
        "models.xlsx",
        lambda: zip_of(xlsx_parts(xl__workbook_xml=b"<workbook><sheets><sheet")),
        "Not a readable XLSX workbook: ",
        {},
    ),
    "csv-200k-character-cell": (
        "models.csv",
        lambda: csv_file("name,provider,description", "gpt-x,openai," + "d" * 200_000),
        "Line 2: a cell is longer than 131,072 characters",
        {},
    ),
    **{
        f"{fmt}-too-many-rows": (
            rows_file(fmt, 6)[0],
            lambda fmt=fmt: rows_file(fmt, 6)[1],
            "The file has more than 5 rows, the limit (IMPORT_MAX_ROWS).",
            {"IMPORT_MAX_ROWS": 5},
        )
        for fmt in ("csv", "json", "xlsx", "litellm")
    },
}
built: dict[str, bytes] = {}


def bad_file(case: str, settings) -> tuple[str, bytes, str]:
    name, build, message, overrides = BAD_FILES[case]
    for setting, value in overrides.items():
        setattr(settings, setting, value)
    if case not in built:
        built[case] = build()
    return name, built[case], message


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_built_to_exhaust_the_reader_is_refused_by_the_importer(case, settings):
    name, data, message = bad_file(case, settings)

    assert file_error(name, data).startswith(message)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_import_models_refuses_a_file_built_to_exhaust_the_reader_with_exit_2(case, settings, tmp_path):
    name, data, message = bad_file(case, settings)
    path = tmp_path / name
    path.write_bytes(data)
    before = registry_counts()

    with pytest.raises(CommandError) as caught:
        call_command("import_models", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    assert caught.value.returncode == 2
    assert str(caught.value).startswith(f"{path}: {message}")
    assert registry_counts() == before


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_the_admin_import_refuses_a_file_built_to_exhaust_the_reader_with_a_form_error(case, settings, make_user):
    name, data, message = bad_file(case, settings)
    client = Client()
    client.force_login(make_user("admin", is_staff=True))
    before = registry_counts()

    response = client.post(
        reverse("admin:models_registry_aimodel_import"), {"file": SimpleUploadedFile(name, data), "format": ""}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["file"]
    assert errors["file"][0].startswith(message)
    assert registry_counts() == before


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "litellm"])
def test_a_file_with_as_many_rows_as_the_limit_is_read(fmt, settings):
    settings.IMPORT_MAX_ROWS = 5
    name, data = rows_file(fmt, 5)

    assert len(read_source(name, data).rows) == 5


def test_the_row_limit_is_comfortably_above_the_benchmark_import():
    assert max_import_rows() >= 5 * 20_000


def test_a_csv_cell_as_long_as_the_limit_is_read():
    data = csv_file("name,provider,description", "gpt-x,openai," + "d" * IMPORT_MAX_CELL_CHARACTERS)

    (row,) = read_source("models.csv", data).rows

    assert len(row.cells["description"]) == IMPORT_MAX_CELL_CHARACTERS


def test_json_nested_as_deep_as_the_limit_is_read_and_its_rows_judged():
    # 72 levels: the list, the item, and 70 levels of metadata (the model allows 65).
    metadata = '{"a": ' * 70 + "1" + "}" * 70
    data = f'[{{"name": "gpt-x", "provider": "openai", "metadata": {metadata}}}]'.encode()

    errors = refused_rows("models.json", data)

    assert errors == {"item 1 (gpt-x)": {"metadata": ["Nested deeper than 64 levels."]}}


def test_a_json_cell_nested_5000_deep_is_an_invalid_row_not_a_crash():
    data = csv_file("name,provider,metadata", "gpt-x,openai," + "[" * 5000 + "]" * 5000)

    errors = refused_rows("models.csv", data)

    assert errors == {"line 2": {"metadata": ["JSON nested deeper than 72 levels."]}}
