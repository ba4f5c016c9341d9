"""The paginator for lists that grow without bound: the models and the audit and security
logs, in the admin and in the API."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from common import estimates

# With an estimated count, pages are served up to this many times the estimate's last page
# (an estimate can be short of the truth); past that a page is refused unread, as past the
# end of a counted list, so that no page number makes the database walk an OFFSET of millions
# for nothing.
ESTIMATE_MARGIN = 2


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows, and estimates past it.

    An exact COUNT(*) over a result of a million rows reads every one of them on every page
    view, the slowest part of a list. On PostgreSQL the count stops at the limit; a list with
    more rows takes the planner's estimate of the same (filtered) query, which is never below
    what was counted, and `count_is_estimate` says so (the admin's templates say "about", the
    API a header). SQLite, which has no estimates, counts exactly.

    An estimate can be short of the truth, so it does not decide where the list ends: with an
    estimated count, a page is any number from 1 to ESTIMATE_MARGIN times the estimate's last
    page whose rows exist, and whether another page follows is seen by reading one row past
    the page. (A planner short by more than that hides the pages past it; lists that must be
    walked whole at that size page by cursor.)

    The object list is a QuerySet, or an object with `counted` (the QuerySet to count) and
    item access (models_registry.api.representation.PageSource).
    """

    count_is_estimate = False

    @cached_property
    def count(self):
        queryset = getattr(self.object_list, "counted", self.object_list)
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        limit, keys = estimates.EXACT_COUNT_LIMIT, queryset.order_by().values("pk")
        counted = estimates.count_at_most(keys, limit + 1)
        if counted <= limit:
            return counted
        self.count_is_estimate = True
        return max(estimates.planned_rows(keys), counted)

    def validate_number(self, number):
        if not (self.count and self.count_is_estimate):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(_("That page number is not an integer")) from error
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        if number > ESTIMATE_MARGIN * self.num_pages:
            raise EmptyPage(_("That page contains no results"))
        return number

    def page(self, number):
        if not (self.count and self.count_is_estimate):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(_("That page contains no results"))
        return EstimatedPage(rows[: self.per_page], number, self, followed=len(rows) > self.per_page)


class EstimatedPage(Page):
    """A page of a list whose count is estimated: whether a next page exists was read, not
    computed from the count."""

    def __init__(self, object_list, number, paginator, *, followed: bool):
        super().__init__(object_list, number, paginator)
        self.followed = followed

    def has_next(self):
        return self.followed
