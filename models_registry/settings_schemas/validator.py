"""The validator settings run through: draft 2020-12 as jsonschema implements it, with
- every pattern on RE2 (`pattern`, `patternProperties`, and the regexes `additionalProperties`
  and `unevaluatedProperties` derive from them, which jsonschema runs on `re`);
- a budget of steps per validation (each keyword evaluated, each array item hashed for
  `uniqueItems`, each enum member compared), so no value can make one validation run long;
- `uniqueItems` by hashing rather than comparing every pair, and `multipleOf` with exact
  fractions where floating point would overflow (a 500 in jsonschema);
- references resolved only inside the schema: the registry's retrieve function refuses,
  so nothing is ever fetched, even for a schema stored before the checks existed.
"""

import contextvars
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource

from common.compat import jsonschema_resolve
from models_registry.settings_schemas.patterns import search

MAX_STEPS = 10_000  # keyword evaluations, values hashed for uniqueItems, enum members compared
MAX_SECONDS = 0.035  # of CPU time after the first FIRST_CLOCK steps: under the 50 ms a validation may take
REFERENCES = ("$ref", "$dynamicRef")


class SettingsTooComplex(Exception):
    """A validation spent its budget (MAX_STEPS)."""


# What the running validation has left: [steps, its CPU time limit in seconds, the thread
# CPU time it must end by (0 until the clock is first read), the full collections' running
# total then, the steps it started with].
_budget: contextvars.ContextVar[list[float]] = contextvars.ContextVar("settings_validation_budget")
# The clock is read (a system call) first after FIRST_CLOCK steps, so the short validations
# of everyday saves never pay for it, then every CLOCK_EVERY steps.
FIRST_CLOCK, CLOCK_EVERY = 128, 32
_collector = {"started": 0.0, "total": 0.0}  # CPU seconds of full collections, process-wide


def _time_the_collector(phase: str, info: dict) -> None:
    # A full collection in a large process takes ~100 ms of CPU; it is not the value's cost,
    # so the clock below leaves it out (a validation must not be refused because one ran).
    # The young generations' short, frequent collections do count: allocation is the value's.
    if info.get("generation") != 2:
        return
    if phase == "start":
        _collector["started"] = time.thread_time()
    else:
        _collector["total"] += max(0.0, time.thread_time() - _collector["started"])


gc.callbacks.append(_time_the_collector)


def _spend(amount: int = 1) -> None:
    budget = _budget.get(None)
    if budget is None:
        return
    spent_before = budget[4] - budget[0]
    budget[0] -= amount
    if budget[0] < 0:
        raise SettingsTooComplex
    every = CLOCK_EVERY if budget[2] else FIRST_CLOCK
    if spent_before // every == (spent_before + amount) // every:
        return
    now = time.thread_time()
    if not budget[2]:
        budget[2], budget[3] = now + budget[1], _collector["total"]
    elif now - (_collector["total"] - budget[3]) > budget[2]:
        raise SettingsTooComplex


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_keys(instance: dict, schema: dict) -> list[str]:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    return [key for key in instance if key not in properties and not any(search(pattern, key) for pattern in patterns)]


def is_valid(errors: Iterator[ValidationError]) -> bool:
    return next(errors, None) is None


def extras_msg(extras: list) -> tuple[str, str]:
    """The unexpected keys, and the verb, of jsonschema's message about them."""
    return ", ".join(repr(extra) for extra in extras), "was" if len(extras) == 1 else "were"


def _additional_properties(validator, additional, instance, schema):
    """jsonschema's own, with the patterns run on RE2."""
    if not validator.is_type(instance, "object"):
        return
    extras = _additional_keys(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            error = "Additional properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % extras_msg(sorted(extras, key=str)))


def _evaluated_keys(validator, instance: dict, schema) -> set[str]:
    """jsonschema's `find_evaluated_property_keys_by_schema`, with the patterns run on RE2."""
    if validator.is_type(schema, "boolean"):
        return set()
    _spend()
    keys: set[str] = set()
    for keyword in REFERENCES:
        if schema.get(keyword) is not None:
            evolved = jsonschema_resolve(validator, schema[keyword])
            keys |= _evaluated_keys(evolved, instance, evolved.schema)
    properties = schema.get("properties")
    if validator.is_type(properties, "object"):
        keys |= properties.keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if (subschema := schema.get(keyword)) is not None:
            keys |= {key for key, value in instance.items() if is_valid(validator.descend(value, subschema))}
    for pattern in schema.get("patternProperties", {}):
        keys |= {key for key in instance if search(pattern, key)}
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys |= _evaluated_keys(validator, instance, subschema)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if is_valid(validator.descend(instance, subschema)):
                keys |= _evaluated_keys(validator, instance, subschema)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys |= _evaluated_keys(validator, instance, schema["if"])
            if "then" in schema:
                keys |= _evaluated_keys(validator, instance, schema["then"])
        elif "else" in schema:
            keys |= _evaluated_keys(validator, instance, schema["else"])
    return keys


def _unevaluated_properties(validator, unevaluated, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    failing = [
        key
        for key in instance
        if key not in evaluated
        and not is_valid(validator.descend(instance[key], unevaluated, path=key, schema_path=key))
    ]
    if failing and unevaluated is False:
        error = "Unevaluated properties are not allowed (%s %s unexpected)"
        yield ValidationError(error % extras_msg(sorted(failing, key=str)))
    elif failing:
        error = "Unevaluated properties are not valid under the given schema (%s %s unevaluated and invalid)"
        yield ValidationError(error % extras_msg(failing))


def _identity(value):
    """A hashable stand-in for a JSON value, equal exactly when JSON Schema calls two values
    equal (1 == 1.0, but true != 1; objects regardless of key order). Each value spends a step."""
    _spend()
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, dict):
        return ("object", frozenset((key, _identity(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_identity(item) for item in value))
    return ("other", repr(value))


def _unique_items(validator, unique, instance, schema):
    if not (unique and validator.is_type(instance, "array")):
        return
    seen = set()
    for item in instance:
        identity = _identity(item)
        if identity in seen:
            yield ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(identity)


def _multiple_of(validator, divisor, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    try:
        yield from Draft202012Validator.VALIDATORS["multipleOf"](validator, divisor, instance, schema)
    except OverflowError:  # an integer too large for a float; exact arithmetic instead
        if (Fraction(instance) / Fraction(divisor)).denominator != 1:
            yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


def _enum(validator, enums, instance, schema):
    _spend(len(enums) if isinstance(enums, list) else 1)
    yield from Draft202012Validator.VALIDATORS["enum"](validator, enums, instance, schema)


def _counted(function):
    """A keyword that spends one step of the budget each time it runs."""

    def run(validator, value, instance, schema):
        _spend()
        return function(validator, value, instance, schema)

    return run


_OWN_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "unevaluatedProperties": _unevaluated_properties,
    "uniqueItems": _unique_items,
    "multipleOf": _multiple_of,
    "enum": _enum,
}

SettingsValidator = validators.extend(
    Draft202012Validator,
    {name: _counted(_OWN_KEYWORDS.get(name, function)) for name, function in Draft202012Validator.VALIDATORS.items()},
)


def _refuse_retrieval(uri: str):
    """Every reference is resolved inside the schema; nothing is ever fetched."""
    raise NoSuchResource(ref=uri)


OFFLINE = Registry(retrieve=_refuse_retrieval)


@contextmanager
def step_budget(steps: int = MAX_STEPS, seconds: float = MAX_SECONDS) -> Iterator[None]:
    """Validations inside spend at most `steps` and `seconds` of this thread's CPU time;
    past either, SettingsTooComplex.

    The steps make the limit the same everywhere for most values that reach it; the CPU time
    is the hard stop for shapes whose steps cost more than most (references, anyOf collecting
    errors). CPU time, not the wall clock: a loaded machine must not turn a value away.
    """
    token = _budget.set([steps, seconds, 0.0, 0.0, steps])
    try:
        yield
    finally:
        _budget.reset(token)
