"""Query building blocks shared by the API, the admin and the exports."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from models_registry.models import ModelDependency


def with_dependency_count(queryset: QuerySet) -> QuerySet:
    """Annotate `dependency_count` with a correlated subquery (no GROUP BY over the models)."""
    counts = (
        ModelDependency.objects.filter(model=OuterRef("pk"))
        .order_by()
        .values("model")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(dependency_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0)))
