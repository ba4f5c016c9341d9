"""How large each field of the registry, and each import file, may be: every limit in one
place, read by the models' validators, the importer, the docs and their tests.

Chosen from data (docs/api.md, "Limits"): the largest values in LiteLLM's catalog
(4,878 entries) and in the starter catalog, with headroom for catalogs not seen yet.

| what                          | largest seen                       | limit       |
| ----------------------------- | ---------------------------------- | ----------- |
| AIModel.description           | 135 characters (starter)           | 4,000 chars |
| AIModel.metadata (as JSON)    | 3.3 KiB (LiteLLM's gpt-6-astra;    | 8 KiB       |
|                               | its fallback_generalizations, not  |             |
|                               | a model, has 12.2 KiB)             |             |
| description + metadata +      | 3.6 KiB                            | 8 KiB       |
| aliases of one model          |                                    |             |
| settings of all profiles      | 0.5 KiB                            | 2 KiB       |
| aliases of one model          | 1                                  | 32          |
| industry profiles of a model  | 2 (there are 8 industries)         | 16          |
| one profile's settings (JSON) | 364 bytes                          | 2 KiB       |
| Industry.settings_schema      | 1.25 KiB                           | 16 KiB      |
| Provider/Industry description | 108 characters                     | 4,000 chars |
| reason given with a change    | (the admin and bulk took 500)      | 500 chars   |

JSON sizes are measured as `json_size` measures them: the largest text any supported
database hands back for the value, which is what the API embeds in its responses.
"""

import json
import re
from contextlib import suppress
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# A change's reason is the audit log's (audit.context); listed here with every other limit.
from audit.context import REASON_MAX_LENGTH as REASON_MAX_LENGTH
from audit.context import validate_reason as validate_reason

# Text fields, in characters. Names are 200 (AIModel.NAME_MAX_LENGTH and the CharFields).
DESCRIPTION_MAX_LENGTH = 4_000
DISPLAY_NAME_MAX_LENGTH = 200
COMPONENT_TYPE_MAX_LENGTH = 50
COMPONENT_ID_MAX_LENGTH = 200
COMPONENT_NAME_MAX_LENGTH = 200
COMPONENT_OWNER_MAX_LENGTH = 200  # a team or a contact

# JSON fields, in bytes of their stored text (json_size).
METADATA_MAX_BYTES = 8 * 1024
PROFILE_SETTINGS_MAX_BYTES = 2 * 1024
SETTINGS_SCHEMA_MAX_BYTES = 16 * 1024

# What a model carries, together: each field above may reach its own limit, but not all at
# once, so that a page of 500 models stays a few MB. The description (UTF-8), metadata and
# aliases (stored JSON) of one model; the settings of all its industry profiles.
MODEL_CONTENT_MAX_BYTES = 8 * 1024  # the largest real model in LiteLLM's catalog: 3.6 KiB
PROFILES_SETTINGS_MAX_BYTES = 2 * 1024  # the starter catalog's largest: 2 profiles, 0.5 KiB

# The list endpoint's largest page (500 models) with every field as large as the limits let
# it be, measured by models_registry/tests/test_field_limits.py.
PAGE_OF_500_MAX_BYTES = 8 * 1024 * 1024

# Lists.
ALIASES_MAX_COUNT = 32
PROFILES_MAX_COUNT = 16

# Import files (each overridable from the environment, see docs/operators.md).
IMPORT_MAX_BYTES = 32 * 1024 * 1024  # the file as uploaded
IMPORT_MAX_ROWS = 100_000  # five times the 20,000-row benchmark
IMPORT_MAX_INFLATED_BYTES = 256 * 1024 * 1024  # an XLSX's entries, uncompressed, in total
IMPORT_MAX_JSON_DEPTH = 72  # a file's nesting: a list, a row, and a JSON column's 64 levels, with room
IMPORT_MAX_CELL_CHARACTERS = 128 * 1024  # one CSV cell: four times the largest field
XLSX_MAX_ENTRIES = 1_000  # a workbook has about ten
XLSX_MAX_RATIO = 100  # uncompressed / compressed, per entry; worksheets compress 5-20 times
XLSX_RATIO_FLOOR = 1024 * 1024  # entries smaller than this are not held to the ratio
JSON_SIZE_DEPTH = 100  # beyond any storable value's depth (models/base.py JSON_MAX_DEPTH)


def json_size(value) -> int | None:
    """The length of `value` as the largest JSON text a supported database returns for it,
    or None when it is nested deeper than JSON_SIZE_DEPTH (too deep to store anyway).

    Django stores JSON on SQLite as `json.dumps` writes it (non-ASCII escaped, ", " and
    ": " between items); PostgreSQL's jsonb writes the same separators, characters as
    UTF-8 (never longer than their escapes), and numbers in positional notation: 1e-300
    comes back as 302 characters. Each number counts at that length.

    Every row of an import is measured, so the usual value, plain JSON, is measured from
    the text the C encoder writes: its length, plus the widening of each number written
    with an exponent (found in the text with the strings taken out). A value that is not
    plain JSON (a Decimal, a cycle) or may be too deep is walked instead.
    """
    try:
        text = _PLAIN_JSON(value)
    except (TypeError, ValueError, RecursionError):
        return _walked_size(value)
    if text.count("[") + text.count("{") > JSON_SIZE_DEPTH:  # (brackets in strings count too: then walked)
        return _walked_size(value)
    if not _DIGIT_THEN_E.search(text):
        return len(text)
    return len(text) + sum(_widening(number) for number in _EXPONENT_NUMBER.findall(_STRINGS.sub("", text)))


_PLAIN_JSON = json.JSONEncoder().encode  # json.dumps(value), refusing what is not JSON (no default=str)
_DIGIT_THEN_E = re.compile(r"[0-9][eE]")  # cheap first look for a number with an exponent
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_EXPONENT_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]+")


def _widening(written: str) -> int:
    """How much longer a number written with an exponent ("1e-300") is in positional notation."""
    with suppress(ArithmeticError):  # not finite: refused by the JSON rule (models/base.py)
        return len(format(Decimal(written), "f")) - len(written)
    return 0


def _walked_size(value) -> int | None:
    extra, stack = 0, [(value, 0)]
    while stack:  # no recursion: the value may be nested deeper than the stack allows
        item, depth = stack.pop()
        if depth > JSON_SIZE_DEPTH:
            return None
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float | Decimal):
            written = json.dumps(item) if isinstance(item, float) else str(item)
            if "e" in written.lower():
                extra += _widening(written)
    return len(json.dumps(value, default=str)) + extra


@deconstructible
class JSONSizeValidator:
    """A JSON field's value takes at most `limit` bytes as stored (json_size)."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value) -> None:
        size = json_size(value)
        if size is not None and size > self.limit:  # (None: too deep, refused by the JSON rule)
            raise ValidationError(
                "Ensure this value takes at most %(limit)d bytes as JSON (it takes %(size)d).",
                code="json_too_large",
                params={"limit": self.limit, "size": size},
            )

    def __eq__(self, other):
        return isinstance(other, JSONSizeValidator) and other.limit == self.limit


def content_sizes(description: str, metadata, aliases) -> dict[str, int]:
    """What each part of a model's free-form content takes, as MODEL_CONTENT_MAX_BYTES
    counts it: the description as UTF-8, metadata and aliases as stored JSON (empty, none)."""
    return {
        "description": len(description.encode("utf-8", "surrogatepass")) if isinstance(description, str) else 0,
        "metadata": (json_size(metadata) or 0) if metadata else 0,
        "aliases": (json_size(aliases) or 0) if aliases else 0,
    }


def content_size(description: str, metadata, aliases) -> int:
    return sum(content_sizes(description, metadata, aliases).values())


def total_problem(size: int, limit: int, what: str) -> str | None:
    """Several fields over the limit they share, said the way every shared limit says it."""
    if size > limit:
        return f"Ensure {what} take at most {limit:,} bytes together (they take {size:,})."
    return None


def count_problem(items: list, limit: int, noun: str) -> str | None:
    """A list longer than `limit`, said the way every list limit says it."""
    if len(items) > limit:
        return f"Ensure there are at most {limit} {noun} (there are {len(items)})."
    return None
