"""The API's JSON renderer writes whatever a response holds, including what orjson cannot:
a client's lone surrogate echoed in an error, integers beyond 64 bits, deep nesting."""

import datetime
import json
from decimal import Decimal

import orjson

from llm_admin.api.renderers import dumps


def test_what_orjson_writes_is_written_by_orjson():
    data = {"when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC), "cost": Decimal("2.50"), 3: [1.5]}

    assert dumps(data) == b'{"when":"2026-01-02T03:04:05Z","cost":"2.50","3":[1.5]}'


def test_lone_surrogates_in_keys_and_values_are_written_as_escape_text():
    body = dumps({"detail": ["\ud800 is not a valid choice."], "k\udfff": "ok", "list": [orjson.Fragment(b'{"a":1}')]})

    body.decode("utf-8")  # valid UTF-8: every client's parser reads it
    assert json.loads(body) == {"detail": ["\\ud800 is not a valid choice."], "k\\udfff": "ok", "list": [{"a": 1}]}


def test_integers_beyond_64_bits_deep_nesting_and_non_finite_floats_render():
    nested = "x"
    for _ in range(300):
        nested = [nested]
    data = {"big": 10**30, "negative": -(2**64), "deep": nested, "inf": float("inf"), "nan": float("nan")}

    assert json.loads(dumps(data)) == {"big": 10**30, "negative": -(2**64), "deep": nested, "inf": None, "nan": None}
