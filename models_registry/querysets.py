"""Query building blocks shared by the API, the admin and the exports."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

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


class UnicodeLower(Lower):
    """LOWER() that lowers every letter, not just ASCII ones: SQLite's own lower() (and its
    LIKE) ignore case for A-Z only, so on SQLite this calls Python's str.lower, registered
    on each new connection (models_registry.apps)."""

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="unicode_lower", **extra_context)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "unicode_lower", 1, lambda value: value.lower() if isinstance(value, str) else value, deterministic=True
        )
