from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact count is cheap enough to make on every page view.
EXACT_COUNT_LIMIT = 100_000


class LargeTablePaginator(Paginator):
    """Counts a filtered list exactly, but an unfiltered list of a huge table from the
    planner's estimate (PostgreSQL's pg_class.reltuples): COUNT(*) over a million rows on
    every page view is the slowest part of a changelist."""

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])  # fmt: skip
                row = cursor.fetchone()
            if row and row[0] > EXACT_COUNT_LIMIT:
                return row[0]
        return super().count
