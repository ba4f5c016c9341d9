"""An import checks each distinct industry settings value once (`models_registry.validation_memo`):
the same rule, the same problems on every row that has the value, and values Python counts
as equal but the schema does not (1 and True) each checked on their own."""

import datetime
from decimal import Decimal

import pytest

import models_registry.settings_schemas as settings_schemas
from models_registry.importing import import_models, read_source
from models_registry.models import Industry
from models_registry.settings_schemas import settings_problems
from models_registry.validation_memo import exact_key, validation_memo


def test_exact_keys_tell_apart_values_python_counts_as_equal():
    alike_to_python = [1, 1.0, True, Decimal("1"), Decimal("1.0"), "1"]
    assert len({exact_key(value) for value in alike_to_python}) == len(alike_to_python)
    assert exact_key(0.0) != exact_key(-0.0)
    assert exact_key([1, [True]]) != exact_key([1, [1]])
    assert exact_key({"a": 1, "b": 2}) != exact_key({"b": 2, "a": 1})  # messages may name keys in order
    assert exact_key({"a": [1, {"b": None}]}) == exact_key({"a": [1, {"b": None}]})


def test_values_without_an_exact_key_are_not_remembered():
    deep = []
    for _ in range(100):
        deep = [deep]
    assert exact_key(deep) is None
    assert exact_key({1, 2}) is None
    assert exact_key([1, (2, 3)]) is None
    assert exact_key(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) is None  # equal instants, other zones


@pytest.mark.django_db
def test_settings_are_checked_once_per_distinct_value_and_keep_their_own_messages(monkeypatch):
    schema = Industry.objects.get(slug="general").settings_schema
    values = [
        {"human_review_required": True},
        {"human_review_required": 1},  # equal to True in Python; not a boolean to the schema
        {"human_review_required": True},
        {"max_temperature": 3},
        {"max_temperature": 3},
    ]
    checked, check = [], settings_schemas._settings_problems
    monkeypatch.setattr(
        settings_schemas, "_settings_problems", lambda text, value: checked.append(value) or check(text, value)
    )

    outside = [settings_problems(schema, value) for value in values]
    assert len(checked) == 5
    checked.clear()
    with validation_memo():
        inside = [settings_problems(schema, value) for value in values]

    assert len(checked) == 3
    assert inside == outside
    assert [bool(problems) for problems in inside] == [False, True, False, True, True]


@pytest.mark.django_db
def test_every_row_with_an_invalid_value_reports_it_not_only_the_first():
    profile = '"[{""industry"": ""general"", ""settings"": {""max_temperature"": 3}}]"'
    csv = "\n".join(
        [
            "name,provider,status,industries",
            "m-a,openai,bogus,",
            "m-b,openai,bogus,",
            f"m-c,openai,active,{profile}",
            f"m-d,openai,active,{profile}",
            "m-e,openai,active,",
        ]
    )

    report = import_models(read_source("repeated.csv", csv.encode(), "csv"), actor=None, skip_invalid=True)

    errors = {row.name: row.errors for row in report.rows}
    assert set(errors["m-a"]) == set(errors["m-b"]) == {"status"}
    assert errors["m-a"] == errors["m-b"]
    assert set(errors["m-c"]) == set(errors["m-d"]) == {"industries"}
    assert errors["m-c"] == errors["m-d"]
    assert errors["m-e"] == {}
    assert report.summary() == "created=1 updated=0 unchanged=0 invalid=4"
