"""Register and unregister the components that use a model."""

from models_registry.models import AIModel, ModelDependency
from models_registry.services.catalog import actor_name, registry_write


def dependency_register(
    *,
    model: AIModel,
    component_type: str,
    component_id: str,
    component_name: str = "",
    owner: str = "",
    actor,
    reason: str = "",
) -> tuple[ModelDependency, bool]:
    """Returns (dependency, created). Registering the same component again changes nothing
    (its name and owner stay as first registered).

    The model row is locked first, as `aimodel_delete` locks it: a registration and a
    delete of the same model run one after the other, never interleaved. If the model
    was deleted meanwhile, AIModel.DoesNotExist is raised.
    """
    with registry_write(actor=actor, reason=reason) as write:
        locked = AIModel.objects.select_for_update().get(pk=model.pk)
        existing = ModelDependency.objects.filter(
            model=locked, component_type=component_type, component_id=component_id
        ).first()
        if existing is not None:
            write.changed = False
            return existing, False
        dependency = ModelDependency(
            model=locked,
            component_type=component_type,
            component_id=component_id,
            component_name=component_name,
            owner=owner,
            registered_by=actor_name(actor),
        )
        dependency.full_clean()
        dependency.save()
        return dependency, True


def dependency_unregister(*, dependency: ModelDependency, actor, reason: str = "") -> None:
    with registry_write(actor=actor, reason=reason):
        dependency.delete()

