"""How models are filtered and searched: one FilterSet for the API, the export command and
the admin, so all of them select the same models for the same parameters (docs/contract.md §3)."""

from decimal import ROUND_FLOOR, Decimal

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.filtersets import UTCDateTimeFilter
from common.parsing import StrictDecimalField, StrictIntegerField
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.folding import fold
from models_registry.models import AIModel, ModelDependency, ModelIndustryProfile, Provider, RegisteredName
from models_registry.models.aimodels import CONTEXT_WINDOW_RANGE, COST_DECIMAL_PLACES, COST_DIGITS, is_name
from models_registry.models.providers import PROVIDER_SLUG_VALIDATOR

SLUG_PATTERN = PROVIDER_SLUG_VALIDATOR.regex  # provider and industry slugs
COST_LIMIT = Decimal(10) ** (COST_DIGITS - COST_DECIMAL_PLACES)  # prices are below this
SEARCH_SEPARATOR = AIModel._meta.get_field("search_text").SEPARATOR
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


class WholeNumberFilter(django_filters.NumberFilter):
    """ASCII digits only (common/parsing.py): `128000.5`, full-width digits and `1_000` are a 400."""

    field_class = StrictIntegerField


class ExactNumberFilter(django_filters.NumberFilter):
    field_class = StrictDecimalField


class TrueFalseField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.pop("empty_value", None)
        super().__init__(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true", **kwargs)


@extend_schema_field(serializers.BooleanField())
class TrueFalseFilter(django_filters.Filter):
    """Exactly `true` or `false`; anything else is a 400 rather than no filter at all."""

    field_class = TrueFalseField


class AnyOfChoiceFilter(django_filters.MultipleChoiceFilter):
    """A repeated parameter means any of its values (`?status=active&status=deprecated`)."""


class SlugListField(forms.Field):
    """Repeated slug parameters, checked for form only: an unknown slug selects nothing
    (looking the vocabulary up would cost a query on every request)."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        return list(value or [])  # an empty one ("?industry=") is not a slug either

    def validate(self, value):
        super().validate(value)
        for item in value:
            if not SLUG_PATTERN.match(item):
                # The value goes in as a parameter: a "%" in it must not be read as a format.
                raise forms.ValidationError("%(value)r is not a valid slug.", params={"value": item})


@extend_schema_field(serializers.ListField(child=serializers.RegexField(SLUG_PATTERN)))
class SlugsFilter(django_filters.Filter):
    field_class = SlugListField


class ProviderSlugsFilter(SlugsFilter):
    """Any of these provider slugs, resolved to ids first (one small query): filtered on
    `provider_id`, one provider's first page is read in order from its index rather than
    joined, gathered and sorted."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(provider_id__in=list(Provider.objects.filter(slug__in=value).values_list("pk", flat=True)))


def json_has_token(field: str, value: str) -> Q:
    """Whether a JSON list field holds `value`, on every database (JSON text contains "value")."""
    return Q(**{f"{field}__icontains": f'"{value}"'})


def search(queryset: QuerySet, value: str) -> QuerySet:
    """The models `value` is found in, ignoring case and accents the one way every door
    folds text (`models_registry.folding`): their name, display name, aliases and
    description (stored folded, in `search_text`), their provider's slug and name, and their
    capabilities through the vocabulary, so the JSON they are stored as never matches."""
    text = fold(value).strip()
    if not text:
        return queryset
    if SEARCH_SEPARATOR in text:
        return queryset.none()  # it would only match where one field ends and the next begins
    matches = Q(search_text__contains=text)
    # Providers are few: the ones that match, found here, keep the folding in Python.
    providers = [
        pk for pk, *texts in Provider.objects.values_list("pk", "slug", "name") if any(text in fold(t) for t in texts)
    ]
    if providers:
        matches |= Q(provider_id__in=providers)
    for capability in (c for c in Capability.values if text in c):
        matches |= json_has_token("capabilities", capability)
    return queryset.filter(matches)


def with_capabilities(queryset: QuerySet, capabilities) -> QuerySet:
    """The models that have every one of `capabilities`."""
    if not capabilities:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.filter(capabilities__contains=sorted(set(capabilities)))  # served by the GIN index
    for capability in capabilities:
        queryset = queryset.filter(json_has_token("capabilities", capability))
    return queryset


class AIModelFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", help_text="Exact name or alias, ignoring case.")
    provider = ProviderSlugsFilter(field_name="provider__slug", help_text="Any of these provider slugs.")
    model_type = AnyOfChoiceFilter(choices=ModelType.choices)
    status = AnyOfChoiceFilter(choices=ModelStatus.choices)
    industry = SlugsFilter(method="filter_industry", help_text="Has an enabled profile for any of these industries.")
    capability = django_filters.MultipleChoiceFilter(
        method="filter_capability", choices=Capability.choices, help_text="Has all of these capabilities."
    )
    search = django_filters.CharFilter(method="filter_search")
    min_context_window = WholeNumberFilter(
        field_name="context_window", lookup_expr="gte", min_value=0, max_value=CONTEXT_WINDOW_RANGE[1]
    )
    max_input_cost = ExactNumberFilter(method="filter_max_input_cost", min_value=0)
    has_dependencies = TrueFalseFilter(method="filter_has_dependencies")
    updated_since = UTCDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = AIModel
        fields = []

    def get_form_class(self):
        """The form class, built once: its fields come from the filters alone, which are the
        same for every request (django-filter builds it anew for each one)."""
        cls = type(self)
        if "form_class" not in cls.__dict__:
            cls.form_class = super().get_form_class()
        return cls.form_class

    def filter_name(self, queryset: QuerySet, name, value):
        if not is_name(value):
            return queryset.none()  # no model is named so; and a name is matched exactly, not folded to one
        owners = RegisteredName.objects.filter(name=fold(value)).values("model_id")
        return queryset.filter(pk__in=owners)

    def filter_industry(self, queryset: QuerySet, name, values):
        if not values:
            return queryset
        enabled = ModelIndustryProfile.objects.filter(model=OuterRef("pk"), enabled=True, industry__slug__in=values)
        return queryset.filter(Exists(enabled))

    def filter_capability(self, queryset: QuerySet, name, values):
        return with_capabilities(queryset, values)

    def filter_search(self, queryset: QuerySet, name, value):
        return search(queryset, value)

    def filter_max_input_cost(self, queryset: QuerySet, name, value: Decimal):
        """Priced at most `value`. A bound past the largest price selects every priced model;
        one finer than a price can be is rounded down, never up."""
        priced = queryset.filter(input_cost_per_million_tokens__isnull=False)
        if value >= COST_LIMIT:
            return priced
        bound = value.quantize(Decimal(1).scaleb(-COST_DECIMAL_PLACES), rounding=ROUND_FLOOR)
        return priced.filter(input_cost_per_million_tokens__lte=bound)

    def filter_has_dependencies(self, queryset: QuerySet, name, value):
        if value is None:
            return queryset
        used = Exists(ModelDependency.objects.filter(model=OuterRef("pk")))
        return queryset.filter(used if value else ~used)
