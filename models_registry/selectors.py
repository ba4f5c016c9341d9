"""Non-trivial reads of the registry."""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import ForeignObjectRel, QuerySet

from models_registry.filtersets import AIModelFilterSet
from models_registry.models import AIModel, ModelDependency, RegisteredName
from models_registry.services.errors import Dependent


def blocking_relations() -> list[ForeignObjectRel]:
    """Every relation to AIModel, from any app, except the model's own parts.

    Discovered from the model registry rather than listed, so a table another app adds
    with a foreign key to AIModel protects the models it points at automatically.
    """
    return [
        relation
        for relation in AIModel._meta.related_objects
        if relation.get_accessor_name() not in AIModel.OWNED_RELATIONS and not relation.many_to_many
    ]


def _describe(relation: ForeignObjectRel, row) -> Dependent:
    if isinstance(row, ModelDependency):
        return Dependent(row.component_type, row.component_id, row.component_name, id=row.pk)
    return Dependent(
        component_type=f"{relation.related_model._meta.model_name}.{relation.field.name}",
        component_id=str(row.pk),
        component_name=str(row),
    )


def dependents_of(model_ids) -> dict[int, list[Dependent]]:
    """{model id: its dependents} for the given models, one query per relation."""
    found: dict[int, list[Dependent]] = defaultdict(list)
    for relation in blocking_relations():
        field = relation.field
        rows = relation.related_model._base_manager.filter(**{f"{field.name}__in": list(model_ids)}).order_by("pk")
        for row in rows:
            found[getattr(row, field.attname)].append(_describe(relation, row))
    return dict(found)


def aimodel_filter(params, queryset: QuerySet | None = None) -> QuerySet:
    """The models that `params` (API-style filter parameters) select; ValidationError
    naming each bad parameter otherwise."""
    filterset = AIModelFilterSet(params, queryset=queryset if queryset is not None else AIModel.objects.all())
    if not filterset.is_valid():
        raise ValidationError({name: [str(e) for e in errors] for name, errors in filterset.errors.items()})
    return filterset.qs


def aimodels_by_name(names: list[str]) -> dict[str, AIModel]:
    """{lowered name: model} for the given names and aliases that exist (case-insensitive)."""
    lowered = {name.lower() for name in names}
    claims = RegisteredName.objects.filter(name__in=lowered).select_related("model__provider")
    return {claim.name: claim.model for claim in claims}
