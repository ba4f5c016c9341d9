"""Row counts PostgreSQL already knows, for lists too large to count on every page view:
the planner's estimate of a query, and the statistics ANALYZE keeps of a table (its row
count, each column's most common values and their shares). PostgreSQL only; the callers
count exactly elsewhere, and below EXACT_COUNT_LIMIT rows."""

import json

from django.core.exceptions import EmptyResultSet
from django.db import connections, models

# Up to this many rows a list is counted exactly; past it, estimated and said to be "about".
EXACT_COUNT_LIMIT = 10_000


def count_at_most(queryset: models.QuerySet, most: int) -> int:
    """How many rows `queryset` has, counting no further than `most`: one COUNT(*) around the
    queryset's own SQL and a LIMIT. (A sliced `.count()` is the same statement, but Django
    builds and compiles a second query around the first to write it, which costs a list
    request a quarter of a millisecond.)"""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # a filter no row can meet (`.none()`, an empty `__in`): nothing to count
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT %s) bounded", [*params, most])  # noqa: S608
        return cursor.fetchone()[0]


def planned_rows(queryset: models.QuerySet) -> int:
    """How many rows the planner expects `queryset` to return (EXPLAIN: nothing is run).
    The row estimate does not depend on the columns selected, so a caller explaining a
    `.values("pk")` spares the compiling of every column."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def table_rows(model: type[models.Model], using: str = "default") -> int | None:
    """The rows in `model`'s table as of its last ANALYZE; None if it was never analyzed."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


def common_values(model: type[models.Model], field_name: str, using: str = "default") -> dict[str, int] | None:
    """{value as text: estimated rows} for the column's most common values (ANALYZE lists
    every value of a column with few, and leaves out values too rare to be sampled);
    None if the column has no statistics yet."""
    column = model._meta.get_field(field_name).column
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT s.most_common_vals::text::text[], s.most_common_freqs, c.reltuples"
            " FROM pg_stats s JOIN pg_class c ON c.oid = %s::regclass"
            " WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = %s",
            [model._meta.db_table, model._meta.db_table, column],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[2] < 0:
        return None
    values, shares, rows = row
    return {value: round(share * rows) for value, share in zip(values, shares, strict=True)}
