"""How the admin's lists, and the exports built on them, treat a query string they cannot
use: as Django's list does (a redirect to `?e=1`, which shows "incorrect parameters"),
never as a server error."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.http import HttpResponseRedirect
from django.urls import reverse


class GuardedChangeListMixin:
    """A date hierarchy year past what a date can hold (`?timestamp__year=99999999999`)
    raises OverflowError inside Django's ChangeList; it is an incorrect parameter too."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error


def refused_list(model_admin) -> HttpResponseRedirect:
    """The list's own answer to parameters it cannot use."""
    opts = model_admin.opts
    return HttpResponseRedirect(f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{ERROR_FLAG}=1")


def filtered_queryset(model_admin, request):
    """(queryset, None) for the list as this request filters it, or (None, the refusal)."""
    try:
        return model_admin.get_changelist_instance(request).get_queryset(request), None
    except IncorrectLookupParameters:
        return None, refused_list(model_admin)
