"""The large kinds of a revert carried out set-based: what an import (or any large request)
did to models, undone in a bounded number of statements per thousand models, not a service
call per entry.

- **Models written back**: models whose steps are all updates of the model and changes of
  its profiles go back through the importer's own plan and apply (`models_registry.importing`),
  as one file whose rows hold the values the revert plan leaves (`RevertPlan.after`): the
  same validation as every door (`validate_aimodel`, the profiles' settings against their
  industry's schema, names against each other and the registry), set-based writes, and one
  audit entry per changed model and profile through the one change writer.
- **Creations deleted**: models whose steps are the undoing of their creation (and of their
  profiles') go through the bulk delete (`aimodel_bulk_apply`), which deletes their profiles
  with them and records each, as the bulk endpoint does.

Both run inside the revert's registry write, so their entries have the source `revert` and
the revert's reason. Written back before deleted: a model the request pointed at a model it
created points back first. Everything else (and a revert with fewer than `SET_BASED_FROM`
such steps, whose refusals then name each entry) goes step by step through the services.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError

from audit.choices import ChangeSource
from audit.events import MODEL_OBJECT_TYPE
from models_registry.choices import BulkAction
from models_registry.folding import fold
from models_registry.importing.apply import apply_plan
from models_registry.importing.plan import INVALID, plan_import
from models_registry.importing.source import SourceFile, SourceRow
from models_registry.reverting.plan import COVERED, DELETE, UPDATE, RevertPlan, Step
from models_registry.reverting.state import PROFILE
from models_registry.selectors import dependents_of
from models_registry.services import HasDependenciesError, aimodel_bulk_apply
from models_registry.services.catalog import registry_write

# Below this many steps of the kinds above, a revert goes step by step (each refusal names
# its entry; a few service calls cost nothing).
SET_BASED_FROM = 100


def by_model(plan: RevertPlan, pending: set[int]) -> tuple[dict[int, list[Step]], dict[int, list[Step]]]:
    """The models to write back and the models to delete set-based, each with its steps
    (its own and its profiles'); empty when the revert is small enough to go step by step."""
    steps = defaultdict(list)
    for step in plan.steps:
        if step.entry.pk in pending and step.kind != COVERED and step.model_id is not None:
            steps[step.model_id].append(step)
    written_back, deleted = {}, {}
    for model_id, own in steps.items():
        kinds = {(step.entry.object_type, step.kind) for step in own if step.entry.object_type != PROFILE}
        parts_only = all(step.entry.object_type in (MODEL_OBJECT_TYPE, PROFILE) for step in own)
        if parts_only and kinds <= {(MODEL_OBJECT_TYPE, UPDATE)} and _found_by_name(plan, model_id):
            written_back[model_id] = own
        elif parts_only and kinds == {(MODEL_OBJECT_TYPE, DELETE)} and not _model_step(own).gone:
            deleted[model_id] = own
    other_deletes = any(
        step.entry.object_type == MODEL_OBJECT_TYPE and step.kind == DELETE and not step.gone
        for step in plan.steps
        if step.entry.pk in pending and step.model_id not in deleted
    )
    if other_deletes:  # a deletion step by step may have to come first (a predecessor): all go so
        deleted = {}
    if sum(len(own) for own in (*written_back.values(), *deleted.values())) < SET_BASED_FROM:
        return {}, {}
    return written_back, deleted


def _model_step(steps: list[Step]) -> Step:
    return next(step for step in steps if step.entry.object_type == MODEL_OBJECT_TYPE)


def _found_by_name(plan: RevertPlan, model_id: int) -> bool:
    """Whether the importer, which knows a model by its name, finds this one by the name the
    revert gives it: it exists, and the name it goes back to is its name now but for case."""
    now = plan.after.objects.get((MODEL_OBJECT_TYPE, str(model_id)))
    after = plan.after.values(MODEL_OBJECT_TYPE, str(model_id))
    return now is not None and after is not None and fold(now.name) == fold(after["name"])


def write_back(plan: RevertPlan, models: dict[int, list[Step]], *, actor, reason: str) -> None:
    """The models' fields and profiles as the plan leaves them, through the importer."""
    rows = [SourceRow(ref=str(model_id), cells=_cells(plan, model_id, steps)) for model_id, steps in models.items()]
    source = SourceFile(name=reason, format="revert", rows=rows, columns={c for row in rows for c in row.cells})
    with registry_write(actor=actor, reason=reason, source=ChangeSource.REVERT):
        imported = plan_import(source)
        for row in imported.rows:
            if row.kind == INVALID or row.model.pk != int(row.ref):
                _refuse(models[int(row.ref)], row.errors or {"name": ["It names another model now."]})
        if imported.new_providers:
            missing = ", ".join(sorted(imported.new_providers))
            raise ValidationError({"provider": [f"No provider is {missing} now (renamed or deleted since)."]})
        apply_plan(imported, actor=actor)


def _cells(plan: RevertPlan, model_id: int, steps: list[Step]) -> dict:
    """An import row: the model's name, each field a step writes back, and its profiles
    when a step changes one, all as the plan leaves them (rendered as entries are, which
    is what the importer's columns read)."""
    after = plan.after.values(MODEL_OBJECT_TYPE, str(model_id))
    cells = {"name": after["name"]}
    for step in steps:
        if step.entry.object_type == MODEL_OBJECT_TYPE:
            cells |= {name: after.get(name) for name in step.entry.changes}
        else:
            profiles = plan.after.profiles_of(str(model_id))
            cells["industries"] = [
                {"industry": p["industry"], "enabled": p.get("enabled", True), "settings": p.get("settings", {})}
                for p in profiles
            ]
    return cells


def _refuse(steps: list[Step], errors: dict) -> None:
    """The importer's refusal of a model's row, naming the entries it reverts."""
    entries = ", ".join(f"entry {step.entry.pk}" for step in steps)
    whose = f"{entries} ({steps[0].entry.parent_repr or steps[0].entry.object_repr})"
    raise ValidationError({name: [f"{whose}: {message}" for message in messages] for name, messages in errors.items()})


def delete_created(models: dict[int, list[Step]], *, actor, reason: str) -> None:
    """The models (and their profiles) deleted through the bulk delete, all or none; the
    delete door's refusal when one is in use."""
    result = aimodel_bulk_apply(
        action=BulkAction.DELETE, ids=list(models), actor=actor, reason=reason, atomic=True, source=ChangeSource.REVERT
    )
    if result.failed:  # (the plan locked every row: only dependencies can refuse)
        used = dependents_of([item.id for item in result.results if item.dependencies])
        raise HasDependenciesError([dependent for found in used.values() for dependent in found])
