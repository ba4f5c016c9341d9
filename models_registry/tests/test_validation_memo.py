"""An import checks each distinct value of a column once (`models_registry.validation_memo`):
the same rules, the same errors on every row that has the value, and values Python counts
as equal but the rules do not (1, 1.0 and True) each checked on their own."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

import models_registry.settings_schemas as settings_schemas
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, Industry
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


def counted_clean(monkeypatch, field) -> Counter:
    calls, clean = Counter(), field.clean

    def counting(value, instance):
        calls[value] += 1
        return clean(value, instance)

    monkeypatch.setattr(field, "clean", counting)
    return calls


def field_errors(models: list[AIModel]) -> list[dict]:
    found = []
    for model in models:
        try:
            model.clean_fields(exclude=["provider", "successor"])
            found.append({})
        except ValidationError as error:
            found.append(error.message_dict)
    return found


def test_inside_the_memo_each_distinct_value_of_a_field_is_cleaned_once_with_the_same_errors(monkeypatch):
    statuses = ["bogus", "active", "bogus", "active", "bogus"]
    calls = counted_clean(monkeypatch, AIModel._meta.get_field("status"))

    outside = field_errors([AIModel(name=f"m{index}", status=status) for index, status in enumerate(statuses)])
    assert calls == {"bogus": 3, "active": 2}
    calls.clear()
    with validation_memo():
        inside = field_errors([AIModel(name=f"m{index}", status=status) for index, status in enumerate(statuses)])

    assert calls == {"bogus": 1, "active": 1}
    assert inside == outside
    assert [bool(errors) for errors in inside] == [True, False, True, False, True]


def test_a_remembered_value_is_the_cleaned_one_and_text_rules_still_apply():
    with validation_memo():
        models = [AIModel(name=f"m{index}", description="one\r\ntwo", display_name=" padded") for index in range(3)]
        errors = field_errors(models)
    assert [model.description for model in models] == ["one\ntwo"] * 3
    assert [set(found) for found in errors] == [{"display_name"}] * 3


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
