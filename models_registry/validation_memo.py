"""Validation results remembered within one batch, so that a file of 20,000 rows checks each
distinct value once instead of once per row: an industry's settings against its schema
(`settings_schemas.settings_problems`), the costliest rule an import runs per row.

Only results that depend on nothing but their key are remembered, and the memo wraps the
rules that every door runs: it never states a rule of its own. Keys are exact: 1, 1.0 and
True differ, as do Decimal("1.0") and Decimal("1.00"), so two values share a result only
when every rule would treat them alike. Outside a `validation_memo()` block everything is
computed each time, as before.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

# JSON's scalar types whose value is its own key: compared by value within their exact type.
SCALARS = frozenset({str, int, bool, type(None)})
MAX_DEPTH = 64  # deeper values are not remembered (and the JSON rules refuse them anyway)

_memo: ContextVar[dict | None] = ContextVar("validation_memo", default=None)


@contextmanager
def validation_memo() -> Iterator[None]:
    """Inside the block, `remembered` computes each distinct key's result once."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(key, compute: Callable[[], object]):
    """`compute()`, or the result it gave for `key` earlier in this block. A None key (a
    value `exact_key` cannot key) and no block compute every time. Results are shared:
    they must be values nobody changes (tuples, strings, immutable scalars)."""
    memo = _memo.get()
    if memo is None or key is None:
        return compute()
    try:
        return memo[key]
    except KeyError:
        memo[key] = result = compute()
        return result


def _scalar_key(value):
    """The exact key of a JSON scalar (text, number, true, false, null), else None."""
    kind = type(value)
    if kind in SCALARS:
        return (kind, value)
    if kind is Decimal:
        return (kind, str(value))  # str keeps the exponent: "1.0" and "1.00" differ
    if kind is float:
        return (kind, repr(value))  # repr tells -0.0 from 0.0, and matches nan with nan
    return None


def exact_key(value, depth: int = 0):
    """The exact key of a JSON value: scalars as `_scalar_key`, lists and dicts item by
    item with their types, dict keys in their order (messages can name them in that order).
    None for anything else, or nested deeper than MAX_DEPTH."""
    kind = type(value)
    if kind is list or kind is dict:
        if depth >= MAX_DEPTH:
            return None
        items = [*value.keys(), *value.values()] if kind is dict else value
        keys = tuple(exact_key(item, depth + 1) for item in items)
        return None if None in keys else (kind, keys)
    return _scalar_key(value)
