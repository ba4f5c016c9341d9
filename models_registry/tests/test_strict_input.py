"""Lenient input is refused, never stored (issue 10, item 13): at every door (the API, the
admin, import files, query filters, command arguments), an integer is a JSON number
without a fraction or ASCII digits, a decimal likewise, a date YYYY-MM-DD, a list of
names a list of strings; names are never trimmed and carry no bidi or zero-width
characters. One parser (common/parsing.py) and one text rule
(models_registry/models/base.py) serve every door."""

# ruff: noqa: RUF001 (full-width and other scripts' digits are what this file is about)

import csv
import io
import json

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from audit.models import AuditEntry
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.tests.admin_pages import FORM_ID, form_fields, page_of, signed_in, staff
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models"
NOT_A_LABEL_SPACE = "Remove the whitespace at the start or end."
NOT_A_LABEL_HIDDEN = "Bidirectional control characters and zero-width characters are not allowed."
NAME_RULE = "Start with a letter or digit; then letters, digits and . _ : / @ + - only."

LENIENT_INTEGERS = ["１２", "1_000", "٣٤", " 12", "12 ", "+12", "12.0", "12.5", "1e3", "0x10", "१२"]
LENIENT_DECIMALS = ["１.５", "1_000", "1,5", " 1.5", "1.5 ", "NaN", "Infinity", "1e_3", ".5", "٣.٥", "+1.5", "1e٣"]
LENIENT_DATES = [
    "2026-1-1",
    "2026-01-1",
    "２０２６-０１-０１",
    "20260101",
    "2026-01-01T00:00",
    "2026/01/01",
    " 2026-01-01",
]
LENIENT_DATE_TIMES = [
    "2026-1-1",
    "２０２６-０１-０１T00:00:00Z",
    "20260101T000000",
    "2026-01-01T1:00",
    "2026-01-01 10:00",
]
# Whitespace of every kind around a name (once trimmed silently), and characters that reorder
# or hide what a name shows.
BAD_LABELS = {
    "leading NBSP": ("\u00a0GPT 4o", NOT_A_LABEL_SPACE),
    "leading NEL": ("\x85GPT 4o", NOT_A_LABEL_SPACE),
    "trailing ideographic space": ("GPT 4o\u3000", NOT_A_LABEL_SPACE),
    "trailing line separator": ("GPT 4o\u2028", NOT_A_LABEL_SPACE),
    "leading space": (" GPT 4o", NOT_A_LABEL_SPACE),
    "RTL override": ("GPT\u202e4o", NOT_A_LABEL_HIDDEN),
    "RTL isolate": ("\u2067GPT 4o", NOT_A_LABEL_HIDDEN),
    "RTL mark": ("GPT\u200f 4o", NOT_A_LABEL_HIDDEN),
    "Arabic letter mark": ("GPT\u061c4o", NOT_A_LABEL_HIDDEN),
    "zero-width space": ("GPT\u200b4o", NOT_A_LABEL_HIDDEN),
    "zero-width joiner": ("GPT\u200d4o", NOT_A_LABEL_HIDDEN),
    "word joiner": ("GPT\u20604o", NOT_A_LABEL_HIDDEN),
    "byte order mark": ("\ufeffGPT 4o", NOT_A_LABEL_HIDDEN),
}


@pytest.fixture(autouse=True)
def openai():
    return ProviderFactory(slug="openai")


def stored_state() -> tuple:
    return (
        AIModel.objects.count(),
        Provider.objects.count(),
        Industry.objects.count(),
        ModelDependency.objects.count(),
        AuditEntry.objects.count(),
    )


def post(client, path: str, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def refused_by_the_api(client, path: str, body) -> dict:
    before = stored_state()
    response = post(client, path, body)
    assert response.status_code == 400, response.content
    assert stored_state() == before
    return response.json()


# The API.

API_CASES = [
    *[("context_window", value, "A valid integer is required.") for value in [*LENIENT_INTEGERS, True, 12.5]],
    *[("max_output_tokens", value, "A valid integer is required.") for value in ["１２", "1_000", False]],
    *[
        ("input_cost_per_million_tokens", value, "A valid number is required.")
        for value in [*LENIENT_DECIMALS, True, False]
    ],
    *[
        ("deprecation_date", value, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")
        for value in [*LENIENT_DATES, 20260101]
    ],
    ("aliases", [1], {"0": ["Not a valid string."]}),
    ("aliases", ["ok", True], {"1": ["Not a valid string."]}),
    ("capabilities", [1], {"0": ['"1" is not a valid choice.']}),
    ("name", 123, "Not a valid string."),
    ("display_name", 42, "Not a valid string."),
    ("description", ["text"], "Not a valid string."),
    ("name", "\x85gpt-x", NAME_RULE),
    ("name", "gpt-x\u00a0", NAME_RULE),
    *[("display_name", value, message) for value, message in BAD_LABELS.values()],
]


@pytest.mark.parametrize(("field", "value", "message"), API_CASES)
def test_the_api_refuses_a_lenient_value_and_stores_nothing(api, field, value, message):
    errors = refused_by_the_api(api, MODELS, {"name": "gpt-x", "provider": "openai", field: value})

    assert errors == {field: message if isinstance(message, dict) else [message]}


def test_the_api_refuses_lenient_values_inside_profiles_and_bulk_requests(api):
    model = AIModelFactory(name="gpt-x")
    profile = {"name": "gpt-y", "provider": "openai", "industries": [{"industry": "general", "enabled": "yes"}]}

    assert refused_by_the_api(api, MODELS, profile) == {"industries": {"0": {"enabled": ["Must be a valid boolean."]}}}
    assert refused_by_the_api(api, f"{MODELS}/bulk", {"action": "deactivate", "ids": ["１"]}) == {
        "ids": {"0": ["A valid integer is required."]}
    }
    assert refused_by_the_api(api, f"{MODELS}/bulk", {"action": "deactivate", "ids": [model.pk], "atomic": 1}) == {
        "atomic": ["Must be a valid boolean."]
    }


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/providers", {"slug": "acme"}, "name"),
    ("/api/v1/industries", {"slug": "mining"}, "name"),
])  # fmt: skip
@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_the_api_refuses_a_provider_or_industry_name_that_is_not_a_label(api, path, body, field, case):
    value, message = BAD_LABELS[case]

    assert refused_by_the_api(api, path, {**body, field: value}) == {field: [message]}


@pytest.mark.parametrize("field", ["component_id", "component_name"])
@pytest.mark.parametrize("case", ["leading NBSP", "RTL override", "zero-width space"])
def test_the_api_refuses_a_component_name_that_is_not_a_label(api, field, case):
    model = AIModelFactory(name="gpt-x")
    value, message = BAD_LABELS[case]
    body = {"component_type": "agent", "component_id": "a-1", "component_name": "An agent", field: value}

    assert refused_by_the_api(api, f"{MODELS}/{model.pk}/dependencies", body) == {field: [message]}


STRICT_FORMS = {
    "context_window": [(12, 12), (12.0, 12), ("12", 12), ("128000", 128000)],
    "input_cost_per_million_tokens": [
        ("1.5", "1.5"),
        (1.5, "1.5"),
        (1e-7, "0.0000001"),
        ("1e-7", "0.0000001"),
        ("0", "0"),
        (3, "3"),
    ],
    "deprecation_date": [("2026-01-01", "2026-01-01")],
    "display_name": [("GPT 4o", "GPT 4o"), ("Claude 3.5 «Sonnet»", "Claude 3.5 «Sonnet»"), ("", "")],
}


@pytest.mark.parametrize(
    ("field", "value", "stored"), [(f, v, s) for f, forms in STRICT_FORMS.items() for v, s in forms]
)
def test_the_api_takes_the_strict_forms(api, field, value, stored):
    response = post(api, MODELS, {"name": "gpt-x", "provider": "openai", field: value})

    assert response.status_code == 201, response.json()
    assert api.get(response.json()["url"]).json()[field] == stored


# Query filters.

FILTER_CASES = [
    *[(MODELS, "min_context_window", value, "Enter a whole number.") for value in LENIENT_INTEGERS],
    *[(MODELS, "max_input_cost", value, "Enter a number.") for value in LENIENT_DECIMALS],
    *[(MODELS, "updated_since", value, "Enter an ISO 8601 date-time") for value in LENIENT_DATE_TIMES],
    *[("/api/v1/audit", "since", value, "Enter an ISO 8601 date-time") for value in LENIENT_DATE_TIMES],
    *[("/api/v1/audit", "until", value, "Enter an ISO 8601 date-time") for value in LENIENT_DATE_TIMES],
]


@pytest.mark.parametrize(("path", "parameter", "value", "message"), FILTER_CASES)
def test_a_filter_refuses_a_lenient_value_naming_the_parameter(api, path, parameter, value, message):
    response = api.get(path, {parameter: value})

    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    assert response.json()[parameter][0].startswith(message)


@pytest.mark.parametrize(("path", "parameter", "value"), [
    (MODELS, "min_context_window", "128000"),
    (MODELS, "max_input_cost", "2.5"),
    (MODELS, "updated_since", "2026-01-01"),
    (MODELS, "updated_since", "2026-01-01T10:00:00Z"),
    ("/api/v1/audit", "since", "2026-01-01T10:00:00.5+02:00"),
    ("/api/v1/audit", "until", "2026-01-01T10:00"),
])  # fmt: skip
def test_a_filter_takes_the_strict_forms(api, path, parameter, value):
    assert api.get(path, {parameter: value}).status_code == 200


# Import files (the admin's import and import_models read them the same way).


def csv_row(**cells) -> bytes:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, ["name", "provider", *cells], lineterminator="\n")
    writer.writeheader()
    writer.writerow({"name": "gpt-x", "provider": "openai", **cells})
    return stream.getvalue().encode()


def refused_row(name: str, data: bytes) -> dict:
    before = stored_state()
    report = import_models(read_source(name, data), actor=None)
    assert report.applied is False
    assert stored_state() == before
    (row,) = report.invalid_rows
    return row.errors


CELL_CASES = [
    *[("context_window", value, "Enter a whole number.") for value in LENIENT_INTEGERS],
    *[
        ("input_cost_per_million_tokens", value, "Enter a number.")
        for value in LENIENT_DECIMALS
        if value not in ("NaN", "Infinity")
    ],
    *[("deprecation_date", value, "Enter a date as YYYY-MM-DD.") for value in LENIENT_DATES],
    ("name", "\x85gpt-x", NAME_RULE),
    ("name", "\u00a0gpt-x", NAME_RULE),
    ("aliases", "\u00a0other-name", f"'\\xa0other-name': {NAME_RULE}"),
    *[("display_name", value, message) for value, message in BAD_LABELS.values() if not value.startswith(" ")],
]


@pytest.mark.parametrize(("column", "value", "message"), CELL_CASES)
def test_an_import_refuses_a_lenient_cell_and_applies_nothing(column, value, message):
    cells = {column: value} if column != "name" else {}
    data = csv_row(**cells) if column != "name" else csv_row().replace(b"gpt-x", value.encode())

    assert refused_row("models.csv", data) == {column: [message]}


JSON_CASES = [
    ("aliases", [1], "Enter a list of strings."),
    ("capabilities", ["vision", 1], "Enter a list of strings."),
    ("name", 123, "Enter text."),
    ("display_name", 4.5, "Enter text."),
    ("provider", 7, "Enter text."),
    ("context_window", True, "Enter a whole number."),
    ("context_window", 12.5, "Enter a whole number."),
    ("context_window", "１２", "Enter a whole number."),
    ("input_cost_per_million_tokens", "1_000", "Enter a number."),
    ("input_cost_per_million_tokens", False, "Enter a number."),
    ("deprecation_date", "2026-1-1", "Enter a date as YYYY-MM-DD."),
    ("deprecation_date", 20260101, "Enter a date as YYYY-MM-DD."),
]


@pytest.mark.parametrize(("column", "value", "message"), JSON_CASES)
def test_a_json_import_refuses_a_value_of_the_wrong_type(column, value, message):
    item = {"name": "gpt-x", "provider": "openai", column: value}

    errors = refused_row("models.json", json.dumps([item]).encode())

    assert errors[column] == [message]


def test_an_import_takes_the_strict_forms():
    data = csv_row(context_window="128000", input_cost_per_million_tokens="2.5", deprecation_date="2026-01-31",
                   display_name="GPT 4o", aliases="alpha, beta")  # fmt: skip
    items = [{"name": "gpt-y", "provider": "openai", "context_window": 12.0, "input_cost_per_million_tokens": 1e-7,
              "deprecation_date": "2026-01-31", "aliases": ["gamma"]}]  # fmt: skip

    assert (
        import_models(read_source("models.csv", data), actor=None).summary()
        == "created=1 updated=0 unchanged=0 invalid=0"
    )
    assert import_models(read_source("models.json", json.dumps(items).encode()), actor=None).applied
    assert list(AIModel.objects.order_by("name").values_list("name", "context_window", "aliases")) == [
        ("gpt-x", 128000, ["alpha", "beta"]),
        ("gpt-y", 12, ["gamma"]),
    ]


# The admin.


def admin_add(client, **values):
    add = "/admin/models_registry/aimodel/add/"
    data = form_fields(page_of(client.get(add)), FORM_ID)
    data |= {"name": ["gpt-x"], "provider": [str(Provider.objects.get(slug="openai").pk)]}
    data |= {field: [value] for field, value in values.items()}
    return client.post(add, data)


ADMIN_CASES = [
    *[("context_window", value, "Enter a whole number.") for value in LENIENT_INTEGERS if value.strip() == value],
    *[
        ("input_cost_per_million_tokens", value, "Enter a number.")
        for value in LENIENT_DECIMALS
        if value.strip() == value
    ],
    *[("deprecation_date", value, "Enter a date as YYYY-MM-DD.") for value in LENIENT_DATES if value.strip() == value],
    ("name", "\x85gpt-x", NAME_RULE),
    ("name", "gpt-x\u00a0", NAME_RULE),
    ("name", " gpt-x", NAME_RULE),
    ("aliases", "\u00a0other-name", f"'\\xa0other-name': {NAME_RULE}"),
    *[("display_name", value, message) for value, message in BAD_LABELS.values()],
]


@pytest.mark.parametrize(("field", "value", "message"), ADMIN_CASES)
def test_the_admin_form_refuses_a_lenient_value_and_stores_nothing(field, value, message):
    client = signed_in(staff("admin"))
    before = stored_state()

    response = admin_add(client, **{field: value})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert stored_state() == before


def test_the_admin_form_takes_the_strict_forms():
    client = signed_in(staff("admin"))

    response = admin_add(client, context_window="128000", input_cost_per_million_tokens="2.5",
                         deprecation_date="2026-01-31", display_name="GPT 4o", aliases="alpha, beta")  # fmt: skip

    assert response.status_code == 302, response.context["adminform"].form.errors
    model = AIModel.objects.get(name="gpt-x")
    assert (model.context_window, str(model.input_cost_per_million_tokens), model.aliases) == (
        128000,
        "2.5000000000",
        ["alpha", "beta"],
    )


# Command arguments.


def exit_status(*argv) -> int:
    """The exit status of `manage.py ARGV...`."""
    try:
        ManagementUtility(["manage.py", *argv]).execute()
    except SystemExit as exited:
        return exited.code
    return 0


@pytest.mark.parametrize("value", LENIENT_INTEGERS)
def test_a_command_refuses_a_lenient_number_with_exit_2(value, make_user, capsys):
    make_user("admin", username="alice")

    assert exit_status("create_api_token", "alice", f"--expires-in-days={value}") == 2
    assert exit_status("create_service_account", "robot", "--role", "viewer", f"--expires-in-days={value}") == 2
    assert "Enter a whole number." in capsys.readouterr().err
    assert not Provider.objects.exclude(slug="openai").exists()


@pytest.mark.parametrize(("command", "option", "value", "message"), [
    *[("export_models", "--min-context-window", value, "--min-context-window: Enter a whole number.")
      for value in LENIENT_INTEGERS],
    *[("export_models", "--max-input-cost", value, "--max-input-cost: Enter a number.") for value in LENIENT_DECIMALS],
    *[("export_models", "--updated-since", value, "--updated-since: Enter an ISO 8601")
      for value in LENIENT_DATE_TIMES],
    *[("audit_log", "--since", value, "--since: Enter an ISO 8601") for value in LENIENT_DATE_TIMES],
    *[("prune_history", "--before", value, f"--before: {value!r}: Enter an ISO 8601") for value in LENIENT_DATE_TIMES],
])  # fmt: skip
def test_a_command_refuses_a_lenient_filter_or_date_with_exit_2(command, option, value, message):
    before = stored_state()

    with pytest.raises(CommandError) as caught:
        call_command(command, f"{option}={value}", stdout=io.StringIO(), stderr=io.StringIO())

    assert caught.value.returncode == 2
    assert str(caught.value).startswith(message)
    assert stored_state() == before


def test_a_command_takes_the_strict_forms(make_user):
    make_user("admin", username="alice")
    out = io.StringIO()

    call_command("create_api_token", "alice", "--expires-in-days=30", stdout=out, stderr=io.StringIO())
    call_command("export_models", "--min-context-window=128000", "--updated-since=2026-01-01T00:00:00Z",
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    call_command("audit_log", "--since=2026-01-01", stdout=io.StringIO())

    assert len(out.getvalue().strip()) > 20  # the token


# Any script's digits, as a number: never.

non_ascii_digit = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")
non_ascii_number = st.builds(
    lambda head, digit, tail, point: head + digit + tail + point,
    st.text(st.characters(categories=["Nd"]), max_size=4),
    non_ascii_digit,
    st.text(st.characters(categories=["Nd"]), max_size=4),
    st.sampled_from(["", ".5", ".٥"]),
)


@given(number=non_ascii_number)
def test_any_non_ascii_digits_are_refused_as_a_number_by_the_api(api, number):
    body = {"name": "gpt-x", "provider": "openai", "context_window": number, "input_cost_per_million_tokens": number}

    errors = refused_by_the_api(api, MODELS, body)

    assert set(errors) == {"context_window", "input_cost_per_million_tokens"}


@given(number=non_ascii_number)
def test_any_non_ascii_digits_are_refused_as_a_number_by_the_importer(number):
    errors = refused_row("models.csv", csv_row(context_window=number, input_cost_per_million_tokens=number))

    assert errors == {"context_window": ["Enter a whole number."], "input_cost_per_million_tokens": ["Enter a number."]}


@pytest.mark.parametrize("path", [MODELS + "/{id}", "/api/v1/providers/{provider}", MODELS + "/{id}/dependencies"])
def test_an_id_in_a_path_is_ascii_digits(api, path):
    model = AIModelFactory(name="gpt-x")
    provider = Provider.objects.get(slug="openai")

    plain = api.get(path.format(id=model.pk, provider=provider.pk))
    full_width = api.get(
        path.format(id=str(model.pk).translate(FULL_WIDTH), provider=str(provider.pk).translate(FULL_WIDTH))
    )

    assert plain.status_code == 200
    assert full_width.status_code == 404


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
