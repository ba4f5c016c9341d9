"""Deleting in the admin asks for the password again when the last sign-in is old (every
ModelAdmin that deletes mixes this in)."""

from django.core.exceptions import PermissionDenied

from accounts.views import reauthentication_redirect


class ReauthenticatedDeleteMixin:
    """Deleting asks for the password again when the last sign-in is old; someone who may
    not delete at all is refused first (403 and the security log), never asked."""

    def delete_view(self, request, object_id, extra_context=None):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            redirect = reauthentication_redirect(request)
            if redirect is not None:
                return redirect
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
