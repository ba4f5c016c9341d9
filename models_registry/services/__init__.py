"""Every registry write with side effects. The admin, the API and the CLI call these."""

from models_registry.selectors import catalog_version
from models_registry.services.aimodels import (
    ProfileInput,
    aimodel_create,
    aimodel_delete,
    aimodel_lock,
    aimodel_restore,
    aimodel_set_status,
    aimodel_update,
    validate_aimodel,
)
from models_registry.services.bulk import BulkResult, aimodel_bulk_apply
from models_registry.services.catalog import registry_write
from models_registry.services.dependencies import aimodel_move_dependents, dependency_register, dependency_unregister
from models_registry.services.errors import Dependent, HasDependenciesError, StaleVersionError, TargetNotActiveError
from models_registry.services.taxonomy import reference_delete, reference_save

__all__ = [
    "BulkResult",
    "Dependent",
    "HasDependenciesError",
    "ProfileInput",
    "StaleVersionError",
    "TargetNotActiveError",
    "aimodel_bulk_apply",
    "aimodel_create",
    "aimodel_delete",
    "aimodel_lock",
    "aimodel_move_dependents",
    "aimodel_restore",
    "aimodel_set_status",
    "aimodel_update",
    "catalog_version",
    "dependency_register",
    "dependency_unregister",
    "reference_delete",
    "reference_save",
    "registry_write",
    "validate_aimodel",
]
