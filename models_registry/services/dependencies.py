"""Register and unregister the components that use a model, and move them all to another."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.bulk import insert_objects
from audit.context import change_context, current_change
from audit.history import snapshot_changes
from audit.writer import ObjectChange, record_changes
from common.batches import batched
from common.compat import raw_delete
from models_registry.choices import ModelStatus
from models_registry.models import AIModel, ModelDependency
from models_registry.services.catalog import actor_name, registry_write
from models_registry.services.errors import TargetNotActiveError


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


def aimodel_move_dependents(*, model: AIModel, to: AIModel | None = None, actor, reason: str = "") -> int:
    """Re-point every dependency registered on `model` to `to` (by default its successor),
    all or nothing, and return how many left `model`.

    Each registration is removed from `model` and made on the target (a component already
    registered there is only removed here): two changes, each recorded as what it is, a
    `dependency.removed` and a `dependency.registered`, with one audit entry per dependency
    changed. The reason recorded is the caller's (or the open context's), else "move
    dependents of X to Y".

    Refused with a ValidationError on `to` when there is no target or it is the model
    itself, and with TargetNotActiveError when the target is not active. Both models are
    locked first, as registrations and deletes lock them: a component registering on
    `model` meanwhile is moved (it committed first) or stays on `model` (it waited), and
    neither model can be deleted under the move.
    """
    with registry_write(actor=actor, reason=reason) as write:
        source, target = _lock_models(model, to)
        moving = list(ModelDependency.objects.filter(model=source).select_related("model").order_by("pk"))
        if not moving:
            write.changed = False
            return 0
        registered = set()  # the components among them registered on the target already
        for chunk in batched(sorted({dependency.component_id for dependency in moving})):
            on_target = ModelDependency.objects.filter(model=target, component_id__in=chunk)
            registered.update(on_target.values_list("component_type", "component_id"))
        arriving = [
            ModelDependency(
                model=target,
                component_type=dependency.component_type,
                component_id=dependency.component_id,
                component_name=dependency.component_name,
                owner=dependency.owner,
                registered_by=actor_name(actor),
            )
            for dependency in moving
            if (dependency.component_type, dependency.component_id) not in registered
        ]
        for dependency in arriving:
            # The one validation, but for what is settled already: the model (locked above)
            # and the unique component (the query above, under the target's lock).
            dependency.full_clean(exclude=["model"], validate_unique=False, validate_constraints=False)
        why = current_change().reason or f"move dependents of {source.name} to {target.name}"
        with change_context(reason=why):
            _move(moving, arriving)
        return len(moving)


def _lock_models(model: AIModel, to: AIModel | None) -> tuple[AIModel, AIModel]:
    """(source, target), both rows locked until the transaction ends, in id order (so moves
    between the same two models in opposite directions cannot deadlock)."""
    if to is not None:
        target_id = to.pk
    else:
        target_id = AIModel.objects.filter(pk=model.pk).values_list("successor_id", flat=True).first()
    if target_id is None:
        if not AIModel.objects.filter(pk=model.pk).exists():
            raise AIModel.DoesNotExist(f"No model with id {model.pk}.")
        raise ValidationError({"to": ["The model has no successor: name the model to move its dependents to."]})
    if target_id == model.pk:
        raise ValidationError({"to": ["Dependents cannot be moved to the model they are on."]})
    locked = {
        row.pk: row for row in AIModel.objects.select_for_update().filter(pk__in=[model.pk, target_id]).order_by("pk")
    }
    if model.pk not in locked:
        raise AIModel.DoesNotExist(f"No model with id {model.pk}.")
    source = locked[model.pk]
    if to is None and source.successor_id != target_id:
        # Its successor changed between the read and the lock: move to the new one.
        return _lock_models(source, None)
    target = locked.get(target_id)
    if target is None:
        raise ValidationError({"to": ["That model no longer exists."]})
    if target.status != ModelStatus.ACTIVE:
        raise TargetNotActiveError(target)
    return source, target


def _move(moving: list[ModelDependency], arriving: list[ModelDependency]) -> None:
    """Remove `moving` and insert `arriving`, set-based, with their records (history rows,
    audit entries) written by the one change writer before the rows go and after the new
    ones exist. Model signals are not sent: the records below are the ones they would write."""
    timestamp = timezone.now()
    history = ModelDependency.history.model
    removed = [ObjectChange(row, snapshot_changes(history, row, created=False)) for row in moving]
    record_changes(ModelDependency, "-", removed, timestamp)
    for chunk in batched([row.pk for row in moving]):
        leaving = ModelDependency.objects.filter(pk__any=chunk)
        raw_delete(leaving)
    insert_objects(arriving)
    added = [ObjectChange(row, snapshot_changes(history, row, created=True)) for row in arriving]
    record_changes(ModelDependency, "+", added, timestamp)
