"""The admin's paginator for tables that grow without bound: the models, the audit and
security logs."""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Up to this many rows a list is counted exactly (the count stops here); past it the list
# says "about" and shows the planner's estimate.
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows, and estimates past it.

    An exact COUNT(*) over a result of a million rows reads every one of them on every page
    view, the slowest part of a changelist. On PostgreSQL the count stops at the limit; a
    list with more rows takes the planner's estimate of the same (filtered) query, which is
    never below what was counted, and `count_is_estimate` tells the templates to say "about".
    SQLite, which has no estimates, counts exactly.
    """

    count_is_estimate = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if connections[queryset.db].vendor != "postgresql":
            return super().count
        counted = queryset.order_by().values("pk")[: EXACT_COUNT_LIMIT + 1].count()
        if counted <= EXACT_COUNT_LIMIT:
            return counted
        self.count_is_estimate = True
        return max(planned_rows(queryset), counted)


def planned_rows(queryset) -> int:
    """How many rows PostgreSQL's planner expects `queryset` to return (EXPLAIN, not run)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])
