"""How the API answers what the registry's services refuse with (registered with the API's
exception handler in ModelsRegistryConfig.ready)."""

from rest_framework import status
from rest_framework.response import Response

from models_registry.services import HasDependenciesError, StaleVersionError


def has_dependencies(error: HasDependenciesError) -> Response:
    body = {"detail": str(error), "dependencies": [d.as_dict() for d in error.dependents]}
    return Response(body, status=status.HTTP_409_CONFLICT)


def stale_version(error: StaleVersionError) -> Response:
    return Response(
        {"detail": "The model changed since the version you sent (If-Match); nothing was changed."},
        status=status.HTTP_412_PRECONDITION_FAILED,
    )


RESPONSES = {HasDependenciesError: has_dependencies, StaleVersionError: stale_version}
