"""`limits.json_size`, the measure of every JSON limit, measures plain JSON from the text the
C encoder writes and walks anything else: both must give exactly what the definition says,
for any value."""

import json
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from models_registry import limits


def defined_size(value) -> int | None:
    """The definition, the long way: the text json.dumps writes (default=str), plus each
    number's growth in positional notation; None past JSON_SIZE_DEPTH levels."""
    extra, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limits.JSON_SIZE_DEPTH:
            return None
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float | Decimal) and Decimal(item).is_finite():
            written = json.dumps(item) if isinstance(item, float) else str(item)
            extra += len(format(Decimal(written), "f")) - len(written)
    return len(json.dumps(value, default=str)) + extra


# Text that looks like what the measure looks for: numbers, brackets, quotes, escapes.
LOOKALIKES = ["1e5", "2E-300", "[", "]]]", "{", '"', "\\", '\\"', "\u00e9", "\U0001f600", "\x7f", "\x00", "e", ""]
text = st.sampled_from(LOOKALIKES) | st.text(max_size=12)
numbers = (
    st.integers(-(10**30), 10**30)
    | st.floats()  # NaN and infinities too: json.dumps writes them, the JSON rule refuses them
    | st.sampled_from([1e-300, -2.5e-7, 1e16, 1.5e300, 0.0001, -0.0])
    | st.decimals(allow_nan=True)
    | st.sampled_from([Decimal("1E+5"), Decimal("-2.50E-8"), Decimal("0E-10")])
)
scalars = st.none() | st.booleans() | numbers | text
keys = text | st.integers(-5, 5) | st.sampled_from([1e16, 2.5, True, None])
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)


def nested(levels: int, innermost) -> list:
    value = innermost
    for _ in range(levels):
        value = [value]
    return value


@given(json_values)
@example({"cost": 1e-07, "note": "1e-07", "1e-07": [2.5e16]})
@example({"price": Decimal("1E-300"), "tags": ["[[[", "{{{"] * 30})
def test_the_size_of_any_value_is_what_the_definition_says(value):
    assert limits.json_size(value) == defined_size(value)


@given(st.integers(limits.JSON_SIZE_DEPTH - 3, limits.JSON_SIZE_DEPTH + 3), st.sampled_from([1, [], {}, "[", 1e-9]))
def test_a_value_deeper_than_the_measure_goes_has_no_size_at_any_depth_around_the_limit(levels, innermost):
    value = nested(levels, innermost)

    assert limits.json_size(value) == defined_size(value)


def test_a_value_nested_beyond_the_stack_has_no_size():
    assert limits.json_size(nested(100_000, 1)) is None
