from django import forms
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


def takes_free_text(field: forms.Field) -> bool:
    """Whether an empty value is one the filter's parameter can have: free text only (the
    schema gives every other parameter a type, a format, a choice or a pattern "" is not)."""
    return type(field) is forms.CharField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, except that a parameter sent empty (`?until=`, `?status=`) is a
    400 naming it where django-filter would ignore it: the published schema says what such a
    parameter must be, and the server must refuse what the schema refuses."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            empty = {
                name: ["Enter a value, or leave the parameter out."]
                for name, field in filterset.form.fields.items()
                if "" in request.query_params.getlist(name) and not takes_free_text(field)
            }
            if empty:
                raise ValidationError(empty)
        return filterset

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        try:
            return filterset.qs
        finally:
            # Its filters point back at it (`parent`): a cycle that would keep the request,
            # and through it the response, alive after it was answered.
            filterset.request = None
