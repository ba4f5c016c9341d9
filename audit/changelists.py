"""How the admin's lists, and the exports built on them, treat a query string they cannot
use: as Django's list does (a redirect to `?e=1`, which shows "incorrect parameters"),
never as a server error."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse


class GuardedChangeListMixin:
    """What Django's admin lets through to the database, stopped before it gets there.

    - A date hierarchy year past what a date can hold (`?timestamp__year=99999999999`)
      raises OverflowError inside Django's ChangeList: an incorrect parameter.
    - A NUL character cannot be stored, so it matches nothing, and PostgreSQL refuses it
      in a query: in a list's parameters it is an incorrect parameter; in an object id,
      no object.
    - An action of this admin that the user may not run (it needs a right they lack) is a
      refusal: 403 and a row in the security log, as every other refusal is. Django leaves
      it out of the user's menu but answers a POST of it as of an unknown action ("No action
      selected"), so the attempt went unrecorded.
    """

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            own = {action if isinstance(action, str) else action.__name__ for action in self.actions or []}
            withheld = own - set(self.get_actions(request))
            if withheld & set(request.POST.getlist("action")):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request):
        if any("\x00" in value for _, values in request.GET.lists() for value in values):
            raise IncorrectLookupParameters("A NUL character matches nothing.")
        try:
            return super().get_changelist_instance(request)
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error

    def get_object(self, request, object_id, from_field=None):
        if "\x00" in str(object_id):
            return None
        return super().get_object(request, object_id, from_field)


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
