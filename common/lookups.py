"""Lookups every app may use (registered in CommonConfig.ready)."""

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
    """`pk__any=[...]` (or `model__any=[...]`, `name__any=[...]`): `= ANY(%s)` with the
    values as one array parameter on PostgreSQL (binding thousands of separate parameters
    costs more than the statement itself), and a plain `IN (...)` elsewhere. Used by the
    set-based bulk paths, the importer and the list endpoint's second query.

    On PostgreSQL the array is sent as its literal's text (`array_literal`), cast to
    bigint[] for integer columns and text[] for the others (text, not the column's
    varchar(n): a cast to varchar(n) would cut longer values); `= ANY` of an array is an
    index condition either way.

    Registered on the id, foreign key and text fields in CommonConfig.ready (LOOKUP_FIELDS)."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_prep_value(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            target = field.target_field if field.is_relation else field
            array_type = "bigint[]" if isinstance(target, models.IntegerField) else "text[]"
            return f"{lhs} = ANY(%s::{array_type})", [*lhs_params, array_literal(values)]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# The fields `__any` is registered on: ids, foreign keys (ids of another table) and names.
LOOKUP_FIELDS = (models.BigAutoField, models.ForeignKey, models.CharField)


def register_lookups() -> None:
    for field in LOOKUP_FIELDS:
        field.register_lookup(AnyOfLookup)
