"""The model list's search box and side filters, selecting through `AIModelFilterSet`: each
sidebar filter is the filterset's filter of the same name and takes the values the API's
parameter takes (`?provider=acme&capability=vision`, a repeated parameter as the API reads
it), and the search box is its `search=`. So the list, the list's export, the API and
`export_models` select the same models for the same parameters (docs/contract.md §3)."""

import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from llm_admin.api.filters import takes_free_text
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.filtersets import AIModelFilterSet
from models_registry.models import AIModel, Industry, Provider


def filtered(queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
    """`queryset` as the filterset's parameter `name` with `values` selects it; a value the
    API would refuse with a 400 (an empty one included) is an incorrect parameter of the list,
    which Django's list answers with "?e=1"."""
    params = QueryDict(mutable=True)
    params.setlist(name, values)
    filterset = AIModelFilterSet(params, queryset=queryset)
    if "" in values and not takes_free_text(filterset.form.fields[name]):
        raise IncorrectLookupParameters(f"{name}: enter a value.")
    if not filterset.is_valid():
        raise IncorrectLookupParameters(filterset.errors)
    return filterset.qs


class FilterSetListFilter(admin.SimpleListFilter):
    """A side filter whose `parameter_name` is a filter of AIModelFilterSet, which selects."""

    def __init__(self, request, params, model, model_admin):
        values = list(params.get(self.parameter_name, []))
        super().__init__(request, params, model, model_admin)
        if values:  # every value of a repeated parameter: Django's list filters keep only the last
            self.used_parameters[self.parameter_name] = values

    def value(self):
        """The value the side panel marks as chosen: the last one, as Django's filters do."""
        value = self.used_parameters.get(self.parameter_name)
        return value[-1] if isinstance(value, list) else value

    def queryset(self, request, queryset):
        values = self.used_parameters.get(self.parameter_name)  # one choice, when Django counts facets
        if values is None:
            return queryset
        return filtered(queryset, self.parameter_name, values if isinstance(values, list) else [values])


class ProviderFilter(FilterSetListFilter):
    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(slug, slug) for slug in Provider.objects.order_by("slug").values_list("slug", flat=True)]


class ModelTypeFilter(FilterSetListFilter):
    title = AIModel._meta.get_field("model_type").verbose_name
    parameter_name = "model_type"

    def lookups(self, request, model_admin):
        return ModelType.choices


class StatusFilter(FilterSetListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ModelStatus.choices


class IndustryFilter(FilterSetListFilter):
    title = "industry (enabled profile)"
    parameter_name = "industry"

    def lookups(self, request, model_admin):
        return list(Industry.objects.order_by("slug").values_list("slug", "name"))


class CapabilityFilter(FilterSetListFilter):
    title = "capability"
    parameter_name = "capability"

    def lookups(self, request, model_admin):
        return Capability.choices


class HasDependenciesFilter(FilterSetListFilter):
    title = "dependencies"
    parameter_name = "has_dependencies"

    def lookups(self, request, model_admin):
        return [("true", "Has dependencies"), ("false", "No dependencies")]


class DeprecationWindowFilter(admin.SimpleListFilter):
    """The one filter only the list has: the API and `export_models` have no parameter for a
    window of deprecation dates."""

    title = "deprecation date"
    parameter_name = "deprecation"
    WINDOWS = {"30": 30, "90": 90, "365": 365}

    def lookups(self, request, model_admin):
        return [
            ("past", "Past"),
            ("30", "Within 30 days"),
            ("90", "Within 90 days"),
            ("365", "Within a year"),
            ("none", "No date"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        value = self.value()
        if value == "past":
            return queryset.filter(deprecation_date__lt=today)
        if value == "none":
            return queryset.filter(deprecation_date__isnull=True)
        if value in self.WINDOWS:
            until = today + datetime.timedelta(days=self.WINDOWS[value])
            return queryset.filter(deprecation_date__gte=today, deprecation_date__lte=until)
        return queryset
