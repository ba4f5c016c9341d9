"""What an industry's settings schema may be, and the one way settings are checked against it.

A settings schema is run on every write of every model that has a profile of its industry,
so it must not be able to reach out, hang or crash the server (issue 10, item 1):

- It is one self-contained JSON Schema, draft 2020-12: `$schema` is absent or names that
  draft; there is no `$id` (a base URI would let a relative `$ref` name another document);
  every `$ref` and `$dynamicRef` is a fragment (`#/$defs/x`, `#anchor`) that resolves inside
  the document.
- Validation never opens a connection or a file: references resolve through a registry
  whose retrieve function refuses, so even a schema stored before these checks cannot fetch.
- Patterns (`pattern`, `patternProperties`, and the regexes `additionalProperties` and
  `unevaluatedProperties` derive from them) run on RE2, which matches in linear time; a
  pattern RE2 cannot compile (backreferences, lookarounds) is refused when the schema is saved.
- Bounded shapes: nesting depth, number of subschemas, references that never leave the same
  value (a cycle), and how many subschemas one value can be checked against.
- Each validation has a budget of keyword evaluations (array items and enum members count);
  past it the settings are refused as too complex, so no settings value can make one
  validation run long. `uniqueItems` hashes instead of comparing every pair, and
  `multipleOf` falls back to exact fractions where floating point would overflow.

`format` is an annotation only (no format is asserted), as draft 2020-12 specifies by default.
"""

import functools
import json

import orjson
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from models_registry.settings_schemas.structure import SchemaCheck, depth_problem
from models_registry.settings_schemas.validator import OFFLINE, SettingsTooComplex, SettingsValidator, step_budget
from models_registry.validation_memo import exact_key, remembered

MAX_MESSAGE = 300  # characters of one problem: messages quote the value, which may be long


def schema_problems(schema) -> list[str]:
    """Why `schema` cannot be an industry's settings schema (empty if it can)."""
    if not isinstance(schema, dict):
        return ["Must be a JSON object (a JSON Schema)."]
    return [_shortened(problem) for problem in _schema_problems(_canonical(schema))]


def _canonical(schema) -> str:
    """The schema as text with sorted keys: the key of the caches below."""
    try:
        return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(schema, sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=256)
def _schema_problems(text: str) -> tuple[str, ...]:
    schema = json.loads(text)
    depth = depth_problem(schema)
    if depth:
        return (depth,)
    # The metaschema without format assertions: patterns are checked by RE2 below, not by `re`.
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    error = next(iter(sorted(meta.iter_errors(schema), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        return (f"Not a valid JSON Schema{f' at {where}' if where else ''}: {error.message}",)
    return tuple(SchemaCheck(schema).run())


@functools.lru_cache(maxsize=256)
def _validator(text: str) -> Draft202012Validator:
    return SettingsValidator(json.loads(text), registry=OFFLINE)


def _shortened(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def settings_problems(schema, settings) -> list[tuple[tuple, str]]:
    """Every way `settings` breaks `schema`: (path inside the settings, message), sorted.

    A schema that breaks the rules above (one stored before they existed) is not run at
    all: the settings are refused with the reason, until an administrator fixes it.
    """
    if not isinstance(schema, dict):
        return [((), "This industry's settings schema cannot be used (it is not a JSON object).")]
    text = _canonical(schema)
    problems = [_shortened(problem) for problem in _schema_problems(text)]
    if problems:
        return [((), f"This industry's settings schema cannot be used ({problem}) Ask an administrator to fix it.")
                for problem in problems]  # fmt: skip
    # A batch (an import) checks each distinct settings value against each schema once.
    key = exact_key(settings)
    return list(remembered(key and ("settings", text, key), lambda: _settings_problems(text, settings)))


def _settings_problems(text: str, settings) -> tuple[tuple[tuple, str], ...]:
    validator = _validator(text)  # built once per schema and process, outside the budget
    try:
        with step_budget():
            errors = validator.iter_errors(settings)
            return tuple(sorted((tuple(error.absolute_path), _shortened(error.message)) for error in errors))
    except (SettingsTooComplex, RecursionError):
        return (((), "These settings are too large or too deeply nested to check against this industry's schema."),)
    except Unresolvable as error:  # not for a schema that passed the checks; even then, no fetch and no 500
        return (((), _shortened(f"This industry's settings schema has a reference that does not resolve: {error}")),)
