"""The admin's paginator for tables that grow without bound: the models, the audit and
security logs."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

from common import estimates


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
        limit = estimates.EXACT_COUNT_LIMIT
        counted = queryset.order_by().values("pk")[: limit + 1].count()
        if counted <= limit:
            return counted
        self.count_is_estimate = True
        return max(estimates.planned_rows(queryset), counted)
