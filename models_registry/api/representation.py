"""How a model looks in the API (API.md §1), built from `.values()` rows rather than
serializer instances: the list endpoint renders up to 500 models per request in a constant
three queries (count, page, profiles)."""

from collections import defaultdict

from django.db.models import QuerySet
from django.urls import reverse

from audit.history import decimal_text
from models_registry.models import ModelIndustryProfile
from models_registry.querysets import with_dependency_count

ROW_FIELDS = [
    "id", "name", "display_name", "provider__slug", "model_type", "capabilities", "context_window",
    "max_output_tokens", "input_cost_per_million_tokens", "output_cost_per_million_tokens", "status",
    "deprecation_date", "successor__name", "description", "metadata", "aliases", "created_at", "updated_at",
    "created_by", "updated_by", "version", "dependency_count",
]  # fmt: skip


def row_queryset(queryset: QuerySet) -> QuerySet:
    return with_dependency_count(queryset).values(*ROW_FIELDS)


class PageSource:
    """What the paginator pages over: counted on the filtered models alone (no joins, no
    annotations), sliced into API rows."""

    ordered = True  # the view orders the models, with the id as the last tie-breaker

    def __init__(self, models: QuerySet):
        self.models = models

    def count(self) -> int:
        return self.models.order_by().count()

    def __getitem__(self, index):
        return list(row_queryset(self.models)[index])


def _cost(value):
    return decimal_text(value) if value is not None else None


def profiles_by_model(model_ids: list[int]) -> dict[int, list[dict]]:
    profiles = defaultdict(list)
    rows = (
        ModelIndustryProfile.objects.filter(model_id__in=model_ids)
        .order_by("model_id", "industry__slug")
        .values_list("model_id", "industry__slug", "enabled", "settings")
    )
    for model_id, industry, enabled, settings in rows:
        profiles[model_id].append({"industry": industry, "enabled": enabled, "settings": settings})
    return profiles


def represent(rows: list[dict], request=None) -> list[dict]:
    """API representations of `row_queryset` rows, in order (one more query: the profiles)."""
    profiles = profiles_by_model([row["id"] for row in rows])
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
            "capabilities": row["capabilities"],
            "context_window": row["context_window"],
            "max_output_tokens": row["max_output_tokens"],
            "input_cost_per_million_tokens": _cost(row["input_cost_per_million_tokens"]),
            "output_cost_per_million_tokens": _cost(row["output_cost_per_million_tokens"]),
            "status": row["status"],
            "deprecation_date": row["deprecation_date"].isoformat() if row["deprecation_date"] else None,
            "successor": row["successor__name"],
            "description": row["description"],
            "industries": profiles.get(row["id"], []),
            "metadata": row["metadata"],
            "aliases": row["aliases"],
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
