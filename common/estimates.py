"""Row counts PostgreSQL already knows, for lists too large to count on every page view:
the planner's estimate of a query, and the statistics ANALYZE keeps of a table (its row
count, each column's most common values and their shares). PostgreSQL only; the callers
count exactly elsewhere, and below EXACT_COUNT_LIMIT rows."""

import json

from django.db import connections, models

# Up to this many rows a list is counted exactly; past it, estimated and said to be "about".
EXACT_COUNT_LIMIT = 10_000


def planned_rows(queryset: models.QuerySet) -> int:
    """How many rows the planner expects `queryset` to return (EXPLAIN: nothing is run)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
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
