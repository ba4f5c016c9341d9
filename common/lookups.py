"""Lookups every app may use (registered in CommonConfig.ready)."""

import json

from django.db import models


def array_literal(values: list) -> str:
    """`values` as the text of one PostgreSQL array: '{1,2}', '{"a","b\\"c",NULL}'.

    Sent as one text parameter: psycopg, binding client-side as Django's cursors do, would
    quote a list's items one by one in Python, which for the thousands of ids or names of
    an import took longer than the query. A string is double-quoted with its `\\` and `"`
    escaped, so braces, commas, spaces, quotes and the word NULL stay text; None is NULL.
    A NUL character is refused by psycopg (DataError), as in any text parameter.
    """
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(_array_item(value) for value in values) + "}"


def _array_item(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AnyOfLookup(models.Lookup):
    """`pk__any=[...]` (or `model__any=[...]`, `name__any=[...]`): the values as one
    parameter, however many there are (binding thousands of separate parameters costs more
    than the statement itself, and the statement's text stays the same for any number of
    values: common/compiled.py relies on it). Used by the set-based bulk paths, the importer
    and the list endpoint's rows.

    On PostgreSQL `= ANY(%s)` of the array literal's text (`array_literal`), cast to bigint[]
    for integer columns and text[] for the others (text, not the column's varchar(n): a cast
    to varchar(n) would cut longer values); `= ANY` of an array is an index condition. On
    SQLite `IN` the values of a JSON array (`json_each`), which SQLite also looks up through
    the column's index.

    Registered on the id, foreign key and text fields in CommonConfig.ready (LOOKUP_FIELDS)."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_prep_value(value) for value in self.rhs]
        parameter = any_parameter(values, connection.vendor)
        if connection.vendor == "postgresql":
            target = field.target_field if field.is_relation else field
            array_type = "bigint[]" if isinstance(target, models.IntegerField) else "text[]"
            return f"{lhs} = ANY(%s::{array_type})", [*lhs_params, parameter]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, parameter]  # noqa: S608 (a column)


def any_parameter(values: list, vendor: str) -> str:
    """The one parameter `__any` sends for `values` (already prepared for the column): an
    array literal on PostgreSQL, a JSON array elsewhere."""
    if vendor == "postgresql":
        return array_literal(values)
    return json.dumps(values, ensure_ascii=False)


# The fields `__any` is registered on: ids, foreign keys (ids of another table) and names.
LOOKUP_FIELDS = (models.BigAutoField, models.ForeignKey, models.CharField)


def register_lookups() -> None:
    for field in LOOKUP_FIELDS:
        field.register_lookup(AnyOfLookup)
