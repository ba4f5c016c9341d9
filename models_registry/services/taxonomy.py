"""Writes to providers and industries, the registry's reference data."""

from django.db import models

from models_registry.services.catalog import registry_write


def reference_save(*, instance: models.Model, actor, reason: str = "") -> models.Model:
    """Validate and save a Provider or Industry (new or changed); audited as any change."""
    instance.full_clean()
    with registry_write(actor=actor, reason=reason):
        instance.save()
    return instance


def reference_delete(*, instance: models.Model, actor, reason: str = "") -> None:
    """Delete a Provider or Industry; ProtectedError while models or profiles use it."""
    with registry_write(actor=actor, reason=reason):
        instance.delete()
