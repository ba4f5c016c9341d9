from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from common.paginators import EstimatedCountPaginator
from llm_admin.api import keyset

# More digits than any page number or size can need; longer ones are not parsed (Python
# refuses to convert strings of over 4,300 digits).
WHOLE_NUMBER_DIGITS = 18


def positive_whole_number(raw: str, parameter: str) -> int:
    """`raw` as a whole number of at least 1, else a 400 naming `parameter`. Numbers too long
    to matter come back as 10**18 (past any page, more than any page size)."""
    if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
        raise ValidationError({parameter: ["Enter a whole number of at least 1."]})
    digits = raw.lstrip("0")
    return 10**WHOLE_NUMBER_DIGITS if len(digits) > WHOLE_NUMBER_DIGITS else int(digits)


# The response header that says `count` is PostgreSQL's estimate (past EXACT_COUNT_LIMIT rows).
COUNT_ESTIMATED_HEADER = "X-Count-Estimated"


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 50, capped at 500). A value that is not a positive whole
    number (empty included) is a 400 naming it; a page past the last is DRF's 404.

    `count` is exact up to common.estimates.EXACT_COUNT_LIMIT rows; past it, on PostgreSQL,
    it is the planner's estimate and the response carries `X-Count-Estimated: true`
    (common/paginators.py). The `next` link and the 404 past the last page are exact either way."""

    django_paginator_class = EstimatedCountPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # `page=last` is not a number: the schema says a page is one

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return min(positive_whole_number(raw, self.page_size_query_param), self.max_page_size)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        return 1 if raw is None else positive_whole_number(raw, self.page_query_param)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.page.paginator.count_is_estimate:
            response[COUNT_ESTIMATED_HEADER] = "true"
        return response

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number, from 1; a page past the last is a 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}); "
                f"a larger value than {self.max_page_size} gives {self.max_page_size}.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class PageOrCursorPagination(PageNumberPagination):
    """Page numbers, or, when the request has `cursor` (empty for the first page), keyset
    pagination (docs/contract.md §7 "Scale"): `{"next", "previous", "results"}`, no count,
    each link carrying the cursor of the page it leads to. A cursor is the position of a row
    (`llm_admin/api/keyset.py`): pages stay put while rows are added or removed, and a deep
    page costs what the first does. `page_size` as for page numbers.

    It pages over a source with `models`, the ordered QuerySet, and `rows(ids)`, the rows to
    answer with for those primary keys, in order (`models_registry.api.representation.PageSource`).
    A source that is not `countable` (the registry as of an instant, whose count would read
    all of its history) is paged by cursor only: without `cursor`, from the first page.
    """

    cursor_query_param = "cursor"
    cursor_links: tuple[str | None, str | None] | None = None  # (next, previous) in cursor mode

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor_links = None
        countable = getattr(queryset, "countable", True)
        if self.cursor_query_param not in request.query_params and countable:
            return super().paginate_queryset(queryset, request, view)
        if self.page_query_param in request.query_params:
            problem = "Not with `cursor`: a cursor says where the page is." if countable else queryset.no_pages
            raise ValidationError({self.page_query_param: [problem]})
        models, size = queryset.models, self.get_page_size(request)
        keys = keyset.sort_keys(models)
        raw = request.query_params.get(self.cursor_query_param, "")
        try:
            position = keyset.decode(keys, raw, using=models.db) if raw else None
        except ValueError as error:
            raise ValidationError({self.cursor_query_param: [str(error)]}) from error
        backwards = position is not None and position.backwards
        walk = [key.reversed() for key in keys] if backwards else keys
        selected = models.order_by(*(key.term for key in walk))
        if position is not None:
            condition = keyset.beyond(walk, position, using=models.db)
            selected = selected.none() if condition is None else selected.filter(condition)
        found = list(selected.values_list(*(key.path for key in keys))[: size + 1])
        more, found = len(found) > size, found[:size]
        if backwards:
            found.reverse()
        url = request.build_absolute_uri()

        def link(values, *, backwards: bool, inclusive: bool = False) -> str:
            token = keyset.encode(keys, keyset.Position(tuple(values), backwards, inclusive))
            return replace_query_param(url, self.cursor_query_param, token)

        if position is None:
            following = link(found[-1], backwards=False) if more else None
            preceding = None
        elif not found:  # rows went away meanwhile: the way back (or on) starts at the position
            turned = not position.inclusive
            following = link(position.values, backwards=False, inclusive=turned) if backwards else None
            preceding = None if backwards else link(position.values, backwards=True, inclusive=turned)
        elif backwards:
            following = link(found[-1], backwards=False)
            preceding = link(found[0], backwards=True) if more else None
        else:
            following = link(found[-1], backwards=False) if more else None
            preceding = link(found[0], backwards=True)
        self.cursor_links = (following, preceding)
        return queryset.rows([values[-1] for values in found])

    def get_paginated_response(self, data):
        if self.cursor_links is None:
            return super().get_paginated_response(data)
        following, preceding = self.cursor_links
        return Response({"next": following, "previous": preceding, "results": data})

    def get_paginated_response_schema(self, schema):
        document = super().get_paginated_response_schema(schema)
        document["required"] = ["results"]
        document["properties"]["count"]["description"] = "Left out when paging with `cursor`."
        for name, end in (("next", "last"), ("previous", "first")):
            document["properties"][name]["description"] = (
                f"The {name} page's link (with `cursor`, carrying that page's cursor); null on the {end} page."
            )
        return document

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Page by cursor instead of page number: empty for the first page, then the "
                "cursor in a `next` or `previous` link. Not with `page`; a cursor not given by this list, or "
                "given for another `ordering`, is a 400.",
                "schema": {"type": "string"},
            },
        ]
