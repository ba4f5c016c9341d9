from rest_framework import pagination
from rest_framework.exceptions import ValidationError

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


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 50, capped at 500). A value that is not a positive whole
    number (empty included) is a 400 naming it; a page past the last is DRF's 404."""

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
