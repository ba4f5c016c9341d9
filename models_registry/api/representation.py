"""How a model looks in the API (docs/contract.md §1), built from `.values()` rows rather than
serializer instances: the list endpoint renders up to 500 models per request in a constant
three queries (the count, the page's ids, their rows)."""

from collections.abc import Callable

import orjson
from django.db.models import BigIntegerField, ExpressionWrapper, F, QuerySet, TextField
from django.urls import reverse

from common.compiled import CompiledValues
from common.lookups import any_parameter
from models_registry.models import AIModel
from models_registry.querysets import IndustryProfilesJSON, with_dependency_count

ROW_FIELDS = [
    "id", "name", "display_name", "provider__slug", "model_type", "context_window", "max_output_tokens",
    "status", "deprecation_date", "sunset_date", "successor__name", "description", "created_at", "updated_at",
    "created_by", "updated_by", "version", "dependency_count",
]  # fmt: skip
JSON_COLUMNS = ["capabilities", "metadata", "aliases"]
PRICE_COLUMNS = ["input_cost_per_million_tokens", "output_cost_per_million_tokens"]


def json_text(field: str) -> ExpressionWrapper:
    """A JSON column as the text the database sends (read as text, not parsed), embedded in
    the response as it is (`orjson.Fragment`): parsing JSON only to encode it again is most
    of a row's cost."""
    return ExpressionWrapper(F(field), output_field=TextField())


def stored_integer(field: str) -> ExpressionWrapper:
    """A price column's stored integer, written out by `ExactDecimalField.stored_text`."""
    return ExpressionWrapper(F(field), output_field=BigIntegerField())


# The models' API rows; built once, each request only says which ids.
ROWS = with_dependency_count(AIModel.objects.order_by()).values(
    *ROW_FIELDS,
    **{f"{column}_json": json_text(column) for column in JSON_COLUMNS},
    **{f"{column}_stored": stored_integer(column) for column in PRICE_COLUMNS},
    industries_json=IndustryProfilesJSON(),
)
# ...and compiled once: the same statement for every page, with other ids.
ROWS_BY_ID = CompiledValues(lambda ids: ROWS.filter(pk__any=ids), sample=[0], parameter=any_parameter)
price_text = AIModel._meta.get_field("input_cost_per_million_tokens").stored_text


def rows_by_id(ids: list[int]) -> list[dict]:
    """The API rows of these models, in the order of `ids` (a model deleted meanwhile is
    left out)."""
    if not ids:
        return []
    found = {row["id"]: row for row in ROWS_BY_ID.rows(ids)}
    return [found[pk] for pk in ids if pk in found]


class PageSource:
    """What the paginator pages over: counted on the filtered models alone (no joins, no
    annotations); a page is the ids first (the filter, the order and the offset over an
    index, nothing else), then the rows of just those ids. Building rows only for the page,
    and not for every row an OFFSET skips, keeps deep pages as cheap as the first."""

    ordered = True  # the view orders the models, with the id as the last tie-breaker
    countable = True

    def __init__(self, models: QuerySet, rows_of: Callable[[list], list[dict]] = rows_by_id):
        """`rows_of(keys)`: the API rows for these primary keys of `models`, in order (for
        the registry as of an instant, `models` are historical rows)."""
        self.models = models
        self.rows_of = rows_of

    @property
    def counted(self) -> QuerySet:
        """What the paginator counts (common/paginators.py)."""
        return self.models

    def __getitem__(self, index):
        return self.rows_of(list(self.models.values_list("pk", flat=True)[index]))

    def rows(self, ids: list[int]) -> list[dict]:
        """A cursor page's rows (llm_admin.api.pagination.PageOrCursorPagination)."""
        return self.rows_of(ids)


class HistoryPageSource(PageSource):
    """The registry as of an instant, paged by cursor only (llm_admin.api.pagination): its
    count would read every model's history up to the instant (about a second per million
    history rows on PostgreSQL), while a page reads only as far as it goes."""

    countable = False
    no_pages = "Not with `as_of`: the registry as of an instant is paged by cursor (`next`, `previous`)."


def represent(rows: list[dict], request=None) -> list[dict]:
    """API representations of `ROWS` rows, in order."""
    base = reverse("api:aimodel-list")
    absolute = request.build_absolute_uri(base) if request is not None else base
    return [
        {
            "id": row["id"],
            "url": f"{absolute}/{row['id']}",
            "name": row["name"],
            "display_name": row["display_name"],
            "provider": row["provider__slug"],
            "model_type": row["model_type"],
            "capabilities": orjson.Fragment(row["capabilities_json"]),
            "context_window": row["context_window"],
            "max_output_tokens": row["max_output_tokens"],
            "input_cost_per_million_tokens": price_text(row["input_cost_per_million_tokens_stored"]),
            "output_cost_per_million_tokens": price_text(row["output_cost_per_million_tokens_stored"]),
            "status": row["status"],
            "deprecation_date": row["deprecation_date"].isoformat() if row["deprecation_date"] else None,
            "sunset_date": row["sunset_date"].isoformat() if row["sunset_date"] else None,
            "successor": row["successor__name"],
            "description": row["description"],
            "industries": orjson.Fragment(row["industries_json"]),
            "metadata": orjson.Fragment(row["metadata_json"]),
            "aliases": orjson.Fragment(row["aliases_json"]),
            "dependency_count": row["dependency_count"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "created_by": row["created_by"] or None,
            "updated_by": row["updated_by"] or None,
        }
        for row in rows
    ]


def etag(version: int) -> str:
    return f'"{version}"'
