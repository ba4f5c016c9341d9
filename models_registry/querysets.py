"""Query building blocks shared by the API, the admin and the exports."""

from django.db.models import Count, Expression, IntegerField, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from models_registry.models import Industry, ModelDependency, ModelIndustryProfile

# A correlated subquery (no GROUP BY over the models). Built once: annotating with it copies
# it, and building it costs more than the rest of a list page's query.
DEPENDENCY_COUNT = Coalesce(
    Subquery(
        ModelDependency.objects.filter(model=OuterRef("pk"))
        .order_by()
        .values("model")
        .annotate(n=Count("pk"))
        .values("n"),
        output_field=IntegerField(),
    ),
    Value(0),
)


def with_dependency_count(queryset: QuerySet) -> QuerySet:
    """Annotate `dependency_count`: how many components use each model."""
    return queryset.annotate(dependency_count=DEPENDENCY_COUNT)


def dependency_counts(model_ids: list[int]) -> dict[int, int]:
    """{model id: how many components use it} for these models, those with any (one query)."""
    rows = ModelDependency.objects.filter(model_id__in=model_ids).order_by().values("model_id")
    return dict(rows.annotate(n=Count("pk")).values_list("model_id", "n"))


class IndustryProfilesJSON(Expression):
    """Each model's industry profiles as one JSON array in text, ordered by industry, as the
    API writes them: `[{"industry": slug, "enabled": bool, "settings": {...}}, ...]`. The
    list endpoint embeds the text as it is, with no second query and no parsing."""

    output_field = TextField()
    contains_aggregate = False

    def as_sql(self, compiler, connection):  # SQLite: aggregates in the order of the ordered subquery
        return self._subquery(
            compiler,
            "SELECT json_group_array(json_object('industry', slug, 'enabled', json(CASE WHEN enabled THEN "
            "'true' ELSE 'false' END), 'settings', json(settings))) FROM (SELECT i.slug, p.enabled, p.settings "
            "{profiles} ORDER BY i.slug)",
        )

    def as_postgresql(self, compiler, connection):
        return self._subquery(
            compiler,
            "SELECT COALESCE(json_agg(json_build_object('industry', i.slug, 'enabled', p.enabled, 'settings', "
            "p.settings) ORDER BY i.slug), '[]')::text {profiles}",
        )

    def _subquery(self, compiler, template: str) -> tuple[str, list]:
        quote = compiler.connection.ops.quote_name
        model_id = f"{compiler.quote_name_unless_alias(compiler.query.get_initial_alias())}.{quote('id')}"
        profiles = (
            f"FROM {quote(ModelIndustryProfile._meta.db_table)} p JOIN {quote(Industry._meta.db_table)} i "
            f"ON i.{quote('id')} = p.{quote('industry_id')} WHERE p.{quote('model_id')} = {model_id}"
        )
        return f"({template.format(profiles=profiles)})", []
