"""The API's filter backend (llm_admin/api/filters.py) builds no FilterSet for a request that
sends none of its parameters, and builds one whenever a parameter is sent, a filter is
required, or the FilterSet filters by itself."""

import django_filters
import pytest

from llm_admin.api import filters
from models_registry.as_of import AsOfFilterSet
from models_registry.filtersets import AIModelFilterSet
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory, ProviderFactory


class PricedBetween(django_filters.FilterSet):
    context = django_filters.RangeFilter(field_name="context_window")

    class Meta:
        model = AIModel
        fields = []


class FiltersByItself(django_filters.FilterSet):
    class Meta:
        model = AIModel
        fields = []

    def filter_queryset(self, queryset):
        return queryset.none()


def test_the_parameters_of_a_filterset_are_its_fields_and_each_part_of_a_range():
    assert {"search", "provider", "ordering", "updated_since"} <= filters.reads_parameters(AIModelFilterSet)
    assert filters.reads_parameters(PricedBetween) == {"context_min", "context_max"}


@pytest.mark.parametrize("filterset_class", [AsOfFilterSet, FiltersByItself])
def test_a_filterset_that_filters_without_parameters_is_always_built(filterset_class):
    assert filters.reads_parameters(filterset_class) is None


@pytest.mark.django_db
def test_a_request_without_filter_parameters_builds_no_filterset(api_as, monkeypatch):
    AIModelFactory.create_batch(3)
    filters.reads_parameters(AIModelFilterSet)  # learnt once per class, by building one
    built = []
    monkeypatch.setattr(AIModelFilterSet, "__init__", recording(AIModelFilterSet.__init__, built))
    assert api_as("viewer").get("/api/v1/models", {"page_size": 2, "unknown": "x"}).json()["count"] == 3
    assert built == []
    assert api_as("viewer").get("/api/v1/models", {"search": "nothing-like-it"}).json()["count"] == 0
    assert len(built) == 1


@pytest.mark.django_db
def test_a_parameter_sent_empty_is_still_refused(api_as):
    response = api_as("viewer").get("/api/v1/models?status=")
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.django_db
def test_a_filterset_django_filter_builds_per_request_still_filters(api_as):
    ProviderFactory(slug="kept")
    ProviderFactory(slug="other")
    listed = api_as("viewer").get("/api/v1/providers", {"slug": "kept"}).json()
    assert [provider["slug"] for provider in listed["results"]] == ["kept"]


def recording(init, built: list):
    def wrapper(self, *args, **kwargs):
        built.append(self)
        init(self, *args, **kwargs)

    return wrapper
