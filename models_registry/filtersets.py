"""How models are filtered and searched: one FilterSet for the API, the export command and
the admin, so all of them select the same models for the same parameters (API.md §3)."""

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.models import AIModel, ModelDependency, ModelIndustryProfile, RegisteredName

ORDERING_FIELDS = {
    "name": "name",
    "provider__slug": "provider",
    "model_type": "model_type",
    "status": "status",
    "context_window": "context_window",
    "input_cost_per_million_tokens": "input_cost_per_million_tokens",
    "output_cost_per_million_tokens": "output_cost_per_million_tokens",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class AnyOfChoiceFilter(django_filters.MultipleChoiceFilter):
    """A repeated parameter means any of its values (`?status=active&status=deprecated`)."""


def json_has_token(field: str, value: str) -> Q:
    """Whether a JSON list field holds `value`, on every database (JSON text contains "value")."""
    return Q(**{f"{field}__icontains": f'"{value}"'})


class AIModelFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", help_text="Exact name or alias, ignoring case.")
    provider = django_filters.AllValuesMultipleFilter(field_name="provider__slug")
    model_type = AnyOfChoiceFilter(choices=ModelType.choices)
    status = AnyOfChoiceFilter(choices=ModelStatus.choices)
    industry = django_filters.MultipleChoiceFilter(
        method="filter_industry", choices=[], help_text="Has an enabled profile for this industry."
    )
    capability = django_filters.MultipleChoiceFilter(
        method="filter_capability", choices=Capability.choices, help_text="Has all of these capabilities."
    )
    search = django_filters.CharFilter(method="filter_search")
    min_context_window = django_filters.NumberFilter(
        field_name="context_window", lookup_expr="gte", widget=forms.NumberInput, min_value=0
    )
    max_input_cost = django_filters.NumberFilter(field_name="input_cost_per_million_tokens", lookup_expr="lte")
    has_dependencies = django_filters.BooleanFilter(method="filter_has_dependencies")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = AIModel
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from models_registry.models import Industry

        self.filters["industry"].extra["choices"] = [
            (slug, slug) for slug in Industry.objects.values_list("slug", flat=True)
        ]

    def filter_name(self, queryset: QuerySet, name, value):
        owners = RegisteredName.objects.filter(name=value.lower()).values("model_id")
        return queryset.filter(pk__in=owners)

    def filter_industry(self, queryset: QuerySet, name, values):
        if not values:
            return queryset
        enabled = ModelIndustryProfile.objects.filter(model=OuterRef("pk"), enabled=True, industry__slug__in=values)
        return queryset.filter(Exists(enabled))

    def filter_capability(self, queryset: QuerySet, name, values):
        if not values:
            return queryset
        if connection.vendor == "postgresql":
            return queryset.filter(capabilities__contains=sorted(set(values)))  # served by the GIN index
        for value in values:
            queryset = queryset.filter(json_has_token("capabilities", value))
        return queryset

    def filter_search(self, queryset: QuerySet, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(name__icontains=text)
            | Q(display_name__icontains=text)
            | Q(aliases__icontains=text)
            | Q(provider__slug__icontains=text)
            | Q(provider__name__icontains=text)
            | Q(capabilities__icontains=text)
            | Q(description__icontains=text)
        )

    def filter_has_dependencies(self, queryset: QuerySet, name, value):
        if value is None:
            return queryset
        used = Exists(ModelDependency.objects.filter(model=OuterRef("pk")))
        return queryset.filter(used if value else ~used)
