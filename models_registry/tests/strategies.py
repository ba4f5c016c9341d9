"""Hypothesis strategies for registry input: valid values, and invalid ones per field.

Names start with "n" and aliases with "a" (either case), so generated aliases never
collide with generated names by accident; collisions are tested on purpose elsewhere.
"""

from decimal import Decimal

from hypothesis import strategies as st

from models_registry.choices import Capability, ModelStatus, ModelType

NAME_TAIL = r"[A-Za-z0-9._:/@+-]{0,40}"

names = st.from_regex(rf"\A[nN]{NAME_TAIL}\Z")
aliases = st.from_regex(rf"\A[aA]{NAME_TAIL}\Z")
alias_lists = st.lists(aliases, max_size=3, unique_by=str.lower)
# Text a person might type: no control characters but tab and newline (the others are
# refused on purpose, see INVALID_FIELDS; "\r" is stored as "\n").
typed = st.characters(exclude_categories=["Cs", "Cc"], include_characters="\n\t")
text = st.text(typed, max_size=80)
# A display name: no bidi controls or zero-width characters, no whitespace around it (the
# name rule of models/base.py refuses them: INVALID_FIELDS).
INVISIBLE = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff"
label_characters = st.characters(exclude_categories=["Cs", "Cc"], exclude_characters=INVISIBLE, include_characters="\t")
labels = st.text(label_characters, max_size=200).map(str.strip)
costs = st.decimals(min_value=0, max_value=Decimal("999999.9999999999"), places=10, allow_nan=False)
json_scalars = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | text
metadata = st.dictionaries(
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=10),
    json_scalars | st.lists(json_scalars, max_size=3),
    max_size=4,
)

VALID_FIELDS = {
    "name": names,
    "display_name": labels,
    "model_type": st.sampled_from(ModelType.values),
    "capabilities": st.lists(st.sampled_from(Capability.values), max_size=6),
    "context_window": st.none() | st.integers(1, 100_000_000),
    "max_output_tokens": st.none() | st.integers(0, 100_000_000),
    "input_cost_per_million_tokens": st.none() | costs,
    "output_cost_per_million_tokens": st.none() | costs,
    "status": st.sampled_from(ModelStatus.values),
    "deprecation_date": st.none() | st.dates(),
    "description": text,
    "metadata": metadata,
    "aliases": alias_lists,
}

INVALID_FIELDS = {
    "name": st.sampled_from(["", "-leading-dash", "has space", "ünïcode", "n" * 201, "semi;colon", "n\x00ul"]),
    "display_name": st.sampled_from(
        ["d" * 201, "nul\x00byte", "bell\x07", "half \ud83d pair", "\u00a0lead", "trail\x85", "rtl\u202eo", "z\u200bw"]
    ),
    "model_type": st.sampled_from(["gpt", "CHAT", "", "image generation"]),
    "capabilities": st.sampled_from([["telepathy"], ["vision", "mind_reading"], "vision", [1], {"vision": True}]),
    "context_window": st.sampled_from([0, -5, 100_000_001]),
    "max_output_tokens": st.sampled_from([-1, 100_000_001]),
    "input_cost_per_million_tokens": st.sampled_from(
        [Decimal("-0.01"), Decimal("1000000"), Decimal("0.00000000001"), "abc"]
    ),
    "output_cost_per_million_tokens": st.sampled_from([Decimal("-1"), Decimal("12345678")]),
    "status": st.sampled_from(["retired", "ACTIVE", ""]),
    "deprecation_date": st.sampled_from(["2024-13-01", "soon"]),
    "description": st.sampled_from(["bad\x00text", "lone \udc00 surrogate"]),
    "metadata": st.sampled_from([[1, 2], "x", 3, {"k": "v\x00"}, {"k": ["\ud800"]}, {"\udfff": 1}]),
    "aliases": st.sampled_from([["bad alias"], "a-string", ["aDup", "adup"], ["-dash"], [7]]),
}


NO_INVALID_FIELDS = st.just(frozenset())


@st.composite
def model_input(draw, invalid_fields=NO_INVALID_FIELDS):
    """(fields, the set of fields made invalid). Provider is added by the test."""
    invalid = draw(invalid_fields)
    fields = {}
    for field, valid in VALID_FIELDS.items():
        if field in invalid:
            fields[field] = draw(INVALID_FIELDS[field])
        elif field == "name" or draw(st.booleans()):
            fields[field] = draw(valid)
    return fields, invalid


some_invalid_fields = st.sets(st.sampled_from(sorted(INVALID_FIELDS)), min_size=1, max_size=4).map(frozenset)
