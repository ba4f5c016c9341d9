import functools

import django_filters
from django import forms
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


def takes_free_text(field: forms.Field) -> bool:
    """Whether an empty value is one the filter's parameter can have: free text only (the
    schema gives every other parameter a type, a format, a choice or a pattern "" is not)."""
    return type(field) is forms.CharField


@functools.cache  # per declared FilterSet class (FilterBackend asks about no other)
def reads_parameters(filterset_class: type[django_filters.FilterSet]) -> frozenset[str] | None:
    """The query parameters `filterset_class` reads, or None if it filters even without any
    (a required filter, or its own `filter_queryset`), so it must always be built."""
    if filterset_class.filter_queryset is not django_filters.FilterSet.filter_queryset:
        return None
    fields = filterset_class().form.fields
    if any(field.required for field in fields.values()):
        return None
    data = KeysRead()
    for name, field in fields.items():  # a range's widget reads one key per part (`x_min`, `x_max`)
        field.widget.value_from_datadict(data, {}, name)
    return frozenset(data.read)


class KeysRead(dict):
    """Empty form data that remembers every key a widget asked it for."""

    def __init__(self):
        super().__init__()
        self.read = set()

    def __contains__(self, key):
        self.read.add(key)
        return False

    def __getitem__(self, key):
        self.read.add(key)
        raise KeyError(key)

    def get(self, key, default=None):
        self.read.add(key)
        return default

    def getlist(self, key, default=None):
        self.read.add(key)
        return [] if default is None else default


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, except that a parameter sent empty (`?until=`, `?status=`) is a
    400 naming it where django-filter would ignore it: the published schema says what such a
    parameter must be, and the server must refuse what the schema refuses.

    A request that sends none of a FilterSet's parameters is not filtered, and no FilterSet
    is built for it: django-filter deep-copies every filter and form field on each one, the
    tenth of an unfiltered first page (docs/benchmarks.md)."""

    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        return None if filterset_class is None else self._built(filterset_class, request, queryset, view)

    def _built(self, filterset_class, request, queryset, view):
        filterset = filterset_class(**self.get_filterset_kwargs(request, queryset, view))
        empty = {
            name: ["Enter a value, or leave the parameter out."]
            for name, field in filterset.form.fields.items()
            if "" in request.query_params.getlist(name) and not takes_free_text(field)
        }
        if empty:
            raise ValidationError(empty)
        return filterset

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        # A declared class only: for `filterset_fields`, django-filter makes a class per request.
        if filterset_class is getattr(view, "filterset_class", None):
            parameters = reads_parameters(filterset_class)
            if parameters is not None and parameters.isdisjoint(request.query_params):
                return queryset
        filterset = self._built(filterset_class, request, queryset, view)
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        try:
            return filterset.qs
        finally:
            # Its filters point back at it (`parent`): a cycle that would keep the request,
            # and through it the response, alive after it was answered.
            filterset.request = None
