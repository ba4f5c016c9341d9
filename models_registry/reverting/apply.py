"""A revert plan carried out: every step through the registry's services (their validation,
their row locks, their audit records), in one transaction, through the revert door.

Steps run newest entry first, with two exceptions that order requires: a model restored
with a successor that the same revert restores waits for it, and a model deleted while
another model the same revert deletes names it as successor waits for that one (a bulk
delete of a model and its predecessor, reverted, or an import's creations). Models whose
one step writes their status back (a bulk status change reverted) move together, set-based,
through the bulk operation's own service, as the operation moved them; and many models
written back or deleted (an import reverted) go set-based first (`reverting.sets`).
"""

from collections import Counter, defaultdict

from django.core.exceptions import ValidationError

from audit.choices import ChangeSource
from audit.events import MODEL_OBJECT_TYPE
from models_registry.choices import STATUS_BY_BULK_ACTION
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile
from models_registry.reverting import sets
from models_registry.reverting.plan import COVERED, DELETE, RESTORE, UPDATE, RevertPlan, Step
from models_registry.reverting.values import REVERTIBLE, Resolver
from models_registry.services import (
    ProfileInput,
    aimodel_bulk_apply,
    aimodel_delete,
    aimodel_restore,
    aimodel_update,
    dependency_register,
    dependency_unregister,
    reference_delete,
    reference_save,
)
from models_registry.services.aimodels import editable_field_names, with_name_holder

DEPENDENCY_FIELDS = ("component_type", "component_id", "component_name")
BULK_ACTION_BY_STATUS = {status: action for action, status in STATUS_BY_BULK_ACTION.items()}


class Applier:
    def __init__(self, plan: RevertPlan, *, actor, reason: str, name_entries: bool):
        self.actor, self.reason, self.name_entries = actor, reason, name_entries
        self.plan, self.steps = plan, plan.steps
        self.pending = {step.entry.pk for step in plan.steps if step.kind != COVERED}
        self.resolver = Resolver()
        models = [step for step in plan.steps if step.entry.object_type == MODEL_OBJECT_TYPE]
        self.restoring = {step.model_id: step for step in models if step.kind == RESTORE}
        self.deleting = {step.model_id: step for step in models if step.kind == DELETE}

    def run(self) -> None:
        self._statuses_in_bulk()
        self._in_sets()
        for step in self.steps:
            self.apply(step)

    def _in_sets(self) -> None:
        """Many models written back or deleted, set-based (`reverting.sets`)."""
        written_back, deleted = sets.by_model(self.plan, self.pending)
        if written_back:
            sets.write_back(self.plan, written_back, actor=self.actor, reason=self.reason)
        if deleted:
            sets.delete_created(deleted, actor=self.actor, reason=self.reason)
        # (a deleted model's profiles went with it: their steps are done too)
        self.pending -= {step.entry.pk for own in (*written_back.values(), *deleted.values()) for step in own}

    def _statuses_in_bulk(self) -> None:
        """Status write-backs of models no other step touches, by status, set-based."""
        touched = Counter(step.model_id for step in self.steps if step.kind != COVERED)
        by_status = defaultdict(list)
        for step in self.steps:
            changes = step.entry.changes
            if (
                step.entry.object_type == MODEL_OBJECT_TYPE
                and step.kind == UPDATE
                and set(changes) == {"status"}
                and changes["status"]["old"] in BULK_ACTION_BY_STATUS
                and touched[step.model_id] == 1
            ):
                by_status[changes["status"]["old"]].append(step)
        for status, steps in by_status.items():
            if len(steps) < 2:
                continue  # one model goes the ordinary way
            result = aimodel_bulk_apply(
                action=BULK_ACTION_BY_STATUS[status],
                ids=[step.model_id for step in steps],
                actor=self.actor,
                reason=self.reason,
                atomic=True,
                source=ChangeSource.REVERT,
            )
            if result.failed:  # (the plan locked every row: none can be missing)
                raise ValidationError({"status": [f"{item.id}: {item.error}" for item in result.results]})
            self.pending -= {step.entry.pk for step in steps}

    def apply(self, step: Step) -> None:
        if step.entry.pk not in self.pending:
            return
        self.pending.discard(step.entry.pk)
        reason = "; ".join([self.reason, *step.notes])
        try:
            APPLY[step.entry.object_type](self, step, reason)
        except ValidationError as error:
            raise self._named(step, error) from error

    def _named(self, step: Step, error: ValidationError) -> ValidationError:
        """A refusal that says whose name is taken, and, when several entries are reverted,
        which entry's step it is."""
        if step.entry.object_type == MODEL_OBJECT_TYPE:
            error = with_name_holder(step.entry.changes.get("name", {}).get("old") or step.entry.object_repr, error)
        if not self.name_entries or not hasattr(error, "error_dict"):
            return error
        whose = f"entry {step.entry.pk} ({step.entry.object_type} {step.entry.object_repr})"
        errors = error.message_dict
        return ValidationError({name: [f"{whose}: {message}" for message in errors[name]] for name in errors})

    def _first(self, waiting: dict, model_id) -> None:
        """Apply the step of `waiting` for `model_id` first, if there is one still to do."""
        step = waiting.get(model_id)
        if step is not None:
            self.apply(step)

    # Per kind of object

    def model(self, step: Step, reason: str) -> None:
        model_id = step.model_id
        if step.kind == UPDATE:
            values = self.resolver.values(AIModel, step.entry.changes, "old")
            aimodel_update(model=AIModel(pk=model_id), actor=self.actor, reason=reason, **values)
        elif step.kind == DELETE:
            if step.gone:
                return
            for predecessor in AIModel.objects.filter(successor_id=model_id).values_list("pk", flat=True):
                self._first(self.deleting, predecessor)
            aimodel_delete(model=AIModel(pk=model_id), actor=self.actor, reason=reason)
        else:
            self._restore(step, reason)

    def _restore(self, step: Step, reason: str) -> None:
        restore = step.restore
        record = restore.record
        self._first(self.restoring, record.successor_id)
        fields = {AIModel._meta.get_field(name).attname for name in editable_field_names()}
        values = {attname: getattr(record, attname) for attname in fields}
        if restore.successor_gone:
            values["successor_id"] = None
        industries = Industry.objects.in_bulk([row.industry_id for row in restore.profiles])
        profiles = [
            ProfileInput(industry=industries[row.industry_id], enabled=row.enabled, settings=row.settings)
            for row in restore.profiles
        ]
        aimodel_restore(
            model_id=step.model_id,
            fields=values,
            version=record.version + 1,
            industries=profiles,
            actor=self.actor,
            reason=reason,
        )

    def profile(self, step: Step, reason: str) -> None:
        """The model updated with its profiles as they are, this one as it was."""
        stored = ModelIndustryProfile.objects.filter(model_id=step.model_id).select_related("industry")
        wanted = {p.industry.slug: ProfileInput(p.industry, p.enabled, p.settings) for p in stored}
        changes = step.entry.changes
        if step.kind == DELETE:
            if wanted.pop(step.industry, None) is None:
                return  # removed since (forced)
        else:
            now = wanted.get(step.industry)
            industry = now.industry if now else Industry.objects.get(slug=step.industry)
            enabled = changes["enabled"]["old"] if "enabled" in changes else (now.enabled if now else True)
            settings = changes["settings"]["old"] if "settings" in changes else (now.settings if now else {})
            wanted[step.industry] = ProfileInput(industry, True if enabled is None else enabled, settings or {})
        aimodel_update(
            model=AIModel(pk=step.model_id), actor=self.actor, reason=reason, industries=list(wanted.values())
        )

    def dependency(self, step: Step, reason: str) -> None:
        if step.kind == DELETE:
            dependency = ModelDependency.objects.filter(pk=step.entry.object_id).first()
            if dependency is not None:
                dependency_unregister(dependency=dependency, actor=self.actor, reason=reason)
            return
        values = {name: (step.entry.changes.get(name) or {}).get("old") or "" for name in DEPENDENCY_FIELDS}
        dependency_register(model=AIModel(pk=step.model_id), actor=self.actor, reason=reason, **values)

    def reference(self, step: Step, reason: str) -> None:
        """A provider or an industry."""
        model = REVERTIBLE[step.entry.object_type]
        values = self.resolver.values(model, step.entry.changes, "old")
        if step.kind == RESTORE:
            instance = model(pk=int(step.entry.object_id), **{k: v for k, v in values.items() if v is not None})
            reference_save(instance=instance, actor=self.actor, reason=reason)
            return
        instance = model._base_manager.filter(pk=step.entry.object_id).first()
        if instance is None:
            return  # deleted since (forced)
        if step.kind == DELETE:
            reference_delete(instance=instance, actor=self.actor, reason=reason)
            return
        for name, value in values.items():
            setattr(instance, name, value)
        reference_save(instance=instance, actor=self.actor, reason=reason)


APPLY = {
    MODEL_OBJECT_TYPE: Applier.model,
    "provider": Applier.reference,
    "industry": Applier.reference,
    "modelindustryprofile": Applier.profile,
    "modeldependency": Applier.dependency,
}
