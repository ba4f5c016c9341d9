"""Who may call what: docs/contract.md section 2's roles are Django groups holding model permissions."""

from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated


class RegistryPermissions(DjangoModelPermissions):
    """Django's model permissions, with reading requiring the `view` permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def requires(*permissions: str) -> type:
    """A permission class for views whose right is not the plain model permission."""

    class Requires(IsAuthenticated):
        def has_permission(self, request, view):
            return super().has_permission(request, view) and request.user.has_perms(permissions)

    Requires.__name__ = "Requires_" + "_".join(p.split(".")[-1] for p in permissions)
    return Requires
