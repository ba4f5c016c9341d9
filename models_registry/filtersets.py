"""How models are filtered and searched: one FilterSet for the API, the export command and
the admin, so all of them select the same models for the same parameters (API.md §3)."""

import re

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.filtersets import UTCDateTimeFilter
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.models import AIModel, ModelDependency, ModelIndustryProfile, RegisteredName

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
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


class SlugListField(forms.Field):
    """Repeated slug parameters, checked for form only: an unknown slug selects nothing
    (looking the vocabulary up would cost a query on every request)."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        return [item for item in (value or []) if item]

    def validate(self, value):
        super().validate(value)
        for item in value:
            if not SLUG_PATTERN.match(item):
                raise forms.ValidationError(f"{item!r} is not a valid slug.")


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class SlugsFilter(django_filters.Filter):
    field_class = SlugListField


def json_has_token(field: str, value: str) -> Q:
    """Whether a JSON list field holds `value`, on every database (JSON text contains "value")."""
    return Q(**{f"{field}__icontains": f'"{value}"'})


class AIModelFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", help_text="Exact name or alias, ignoring case.")
    provider = SlugsFilter(field_name="provider__slug", lookup_expr="in", help_text="Any of these provider slugs.")
    model_type = AnyOfChoiceFilter(choices=ModelType.choices)
    status = AnyOfChoiceFilter(choices=ModelStatus.choices)
    industry = SlugsFilter(method="filter_industry", help_text="Has an enabled profile for any of these industries.")
    capability = django_filters.MultipleChoiceFilter(
        method="filter_capability", choices=Capability.choices, help_text="Has all of these capabilities."
    )
    search = django_filters.CharFilter(method="filter_search")
    min_context_window = django_filters.NumberFilter(
        field_name="context_window", lookup_expr="gte", widget=forms.NumberInput, min_value=0
    )
    max_input_cost = django_filters.NumberFilter(field_name="input_cost_per_million_tokens", lookup_expr="lte")
    has_dependencies = django_filters.BooleanFilter(method="filter_has_dependencies")
    updated_since = UTCDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = AIModel
        fields = []

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
