"""JSON text from outside (import files, their JSON cells), read within a nesting limit.

Python's parser recurses once per level: JSON nested a few thousand deep raises
RecursionError inside it, and a value nested just below that limit raises it later, in
whatever walks the value next. The depth is measured first, without parsing and without
recursion: strings are removed (a bracket inside one is text), then the brackets left
are counted.
"""

import json
import re
from decimal import Decimal

STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
BRACKETS = re.compile(r"[\[\]{}]")
OPENING = frozenset("[{")


class JSONTooDeepError(ValueError):
    """Nested deeper than allowed; nothing was parsed."""


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in `text` (0 for a scalar)."""
    depth = deepest = 0
    for bracket in BRACKETS.findall(STRINGS.sub("", text)):
        if bracket in OPENING:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(text: str, *, max_depth: int, exact: bool = False):
    """`json.loads(text)`, refused (JSONTooDeepError) when nested deeper than `max_depth`.

    With `exact`, numbers with a fraction or an exponent are Decimals, as written (prices
    must arrive exactly). Malformed text raises json.JSONDecodeError as usual.
    """
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JSONTooDeepError(f"JSON nested deeper than {max_depth} levels.")
    try:
        return json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except RecursionError as error:  # not reachable under the depth check; never a traceback
        raise JSONTooDeepError(f"JSON nested deeper than {max_depth} levels.") from error
