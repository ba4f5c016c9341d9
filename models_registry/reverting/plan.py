"""What reverting audit entries would do, worked out without changing anything.

For each entry, newest first, the inverse change (a `Step`): an update writes back the old
values of the fields it changed; a create is undone by deleting the object (a registered
dependency is unregistered); a delete by restoring it (a model with the industry profiles
deleted with it). Each step lists the fields it writes, each with the value it has now,
the value the entry wrote and the value it goes back to; a field whose value now is not
the one the entry wrote changed since: a conflict, which `force` overrides. What cannot be
done at all, forced or not (an object gone that an update would change, a deleted object
that exists again, a provider its restored model needs that is gone), blocks the step.

The registry is read once for all the entries (`state`: a constant number of queries, whatever
their number), and each step is planned over what the newer ones leave, so the conflicts
of a whole request are found together, before anything is written. The API's 409 and the
admin's preview are this plan; `models_registry.reverting.apply` carries it out.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from audit.choices import AuditAction
from audit.events import MODEL_OBJECT_TYPE
from audit.models import AuditEntry
from models_registry.models import Industry
from models_registry.reverting.state import DEPENDENCY, PROFILE, ModelRestore, RegistryNow
from models_registry.reverting.values import REVERTIBLE
from models_registry.selectors import dependents_of

UPDATE, DELETE, RESTORE, COVERED = "update", "delete", "restore", "covered"
# Fields that say which object a part is, rather than what it holds: never a conflict.
IDENTITY = {PROFILE: {"model", "industry"}, DEPENDENCY: {"model"}}
WHAT = {UPDATE: "write back the old values", DELETE: "delete", RESTORE: "restore", COVERED: "nothing more"}


@dataclass(frozen=True)
class FieldRevert:
    """One field a step writes: its value now, the value the entry wrote, and the value
    the revert writes (all as entries render them; None: no value, or no object)."""

    field: str
    now: object
    changed_from: object
    reverting_to: object

    @property
    def conflict(self) -> bool:
        return self.now != self.changed_from

    def as_dict(self) -> dict:
        return {"reverting_to": self.reverting_to, "changed_from": self.changed_from, "now": self.now}


@dataclass
class Step:
    entry: AuditEntry
    kind: str
    fields: list[FieldRevert] = field(default_factory=list)
    blocked: str = ""  # why it cannot be done, forced or not
    notes: list[str] = field(default_factory=list)  # where it does less than the inverse (said in its reason)
    info: list[str] = field(default_factory=list)  # what else a person deciding should know
    gone: bool = False  # the object is not there now (undoing its creation deletes nothing)
    covered_by: int | None = None  # the entry whose step already does this one's work
    industry: str = ""  # an industry profile's industry (slug)
    restore: ModelRestore | None = field(default=None, repr=False)

    @property
    def conflicts(self) -> list[FieldRevert]:
        return [item for item in self.fields if item.conflict]

    @property
    def object(self) -> dict:
        return {"type": self.entry.object_type, "id": self.entry.object_id, "name": self.entry.object_repr}

    @property
    def model_id(self) -> int | None:
        """The model this step concerns: the entry's object, or the object's model."""
        if self.entry.object_type == MODEL_OBJECT_TYPE:
            return int(self.entry.object_id)
        return int(self.entry.parent_id) if self.entry.parent_type == MODEL_OBJECT_TYPE else None

    @property
    def what(self) -> str:
        return WHAT[self.kind]


@dataclass
class RevertPlan:
    steps: list[Step]
    after: RegistryNow | None = field(default=None, repr=False)  # the registry as the steps leave it

    @property
    def conflicts(self) -> list[tuple[Step, FieldRevert]]:
        return [(step, item) for step in self.steps for item in step.conflicts]

    @property
    def blocked(self) -> list[Step]:
        return [step for step in self.steps if step.blocked]

    def refusal(self, *, force: bool) -> "RevertRefused | None":
        """Why the plan may not be carried out (with `force` or not), or None."""
        if self.blocked or (self.conflicts and not force):
            return RevertRefused(self)
        return None


class RevertRefused(Exception):
    """Refused as a whole (409): fields changed since (unless forced), or a step that
    cannot be done. `conflicts` names each conflicting field once (the newest entry's
    conflict on it, with that entry and its object); `by_entry` lists every one."""

    def __init__(self, plan: RevertPlan):
        self.plan = plan
        blocked = plan.blocked
        if blocked:
            detail = "; ".join(f"entry {step.entry.pk}: {step.blocked}" for step in blocked[:5])
            more = f" (and {len(blocked) - 5} more, in by_entry)" if len(blocked) > 5 else ""
            detail = f"This cannot be reverted: {detail}{more}. Nothing was changed."
        else:
            names = ", ".join(sorted({item.field for _, item in plan.conflicts}))
            detail = f"Changed since: {names}. Nothing was changed; revert with force to write the old values anyway."
        super().__init__(detail)

    @property
    def forceable(self) -> bool:
        return not self.plan.blocked

    def as_dict(self) -> dict:
        conflicts, by_entry = {}, []
        for step in self.plan.steps:
            if not step.conflicts and not step.blocked:
                continue
            found = {item.field: item.as_dict() for item in step.conflicts}
            by_entry.append(
                {"entry": step.entry.pk, "object": step.object, "blocked": step.blocked, "conflicts": found}
            )
            for name, values in found.items():
                conflicts.setdefault(name, {**values, "entry": step.entry.pk, "object": step.object})
        return {"detail": str(self), "conflicts": conflicts, "by_entry": by_entry, "forceable": self.forceable}


def not_revertible(entry: AuditEntry) -> str | None:
    """Why `entry` is not one a revert can undo, or None."""
    if entry.object_type not in REVERTIBLE or not entry.event_type:
        return f"entry {entry.pk} ({entry.object_type}) changed no registry object: it cannot be reverted."
    if entry.object_type == DEPENDENCY and entry.action == AuditAction.UPDATE:
        return f"entry {entry.pk}: no door edits a registered dependency, so none can be reverted."
    return None


def plan_revert(entries: list[AuditEntry], *, lock: bool = False) -> RevertPlan:
    """The plan for reverting `entries`, newest first. With `lock` (inside the transaction
    that applies it) the objects concerned are locked as they are read, so nothing changes
    them between the plan and its application."""
    problems = [problem for entry in entries if (problem := not_revertible(entry))]
    if problems:
        raise ValidationError({"non_field_errors": problems})
    now = RegistryNow(entries, lock=lock)
    covered: dict[int, int] = {}
    steps = []
    for entry in entries:
        if entry.pk in covered:
            steps.append(Step(entry, COVERED, covered_by=covered[entry.pk]))
            continue
        step = PLANNERS[entry.object_type](entry, now)
        if step.restore is not None:
            covered.update(dict.fromkeys(now.restored_parts_of(entry), entry.pk))
        steps.append(step)
    _note_dependents([step for step in steps if step.kind == DELETE and step.entry.object_type == MODEL_OBJECT_TYPE])
    return RevertPlan(steps, now)


def _note_dependents(deletes: list[Step]) -> None:
    """What keeps a model the plan deletes from going (the delete door refuses then)."""
    found = dependents_of([step.model_id for step in deletes if not step.gone])
    for step in deletes:
        using = found.get(step.model_id, [])
        if using:
            names = ", ".join(f"{d.component_type}:{d.component_id}" for d in using[:5])
            step.info.append(f"used by {len(using)} ({names}): refused unless they are unregistered first")


def _fields(entry: AuditEntry, now: dict | None, skip=frozenset()) -> list[FieldRevert]:
    current = now or {}
    return [
        FieldRevert(name, current.get(name), change["new"], change["old"])
        for name, change in sorted(entry.changes.items())
        if name not in skip
    ]


def _after(entry: AuditEntry, now: dict | None) -> dict:
    values = dict(now or {})
    for name, change in entry.changes.items():
        if change["old"] is None:
            values.pop(name, None)
        else:
            values[name] = change["old"]
    return values


def plan_object(entry: AuditEntry, now: RegistryNow) -> Step:
    """A model, a provider or an industry: an update written back, a creation deleted, a
    deletion restored (under its old id)."""
    key = (entry.object_type, entry.object_id)
    current = now.values(*key)
    if entry.action == AuditAction.UPDATE:
        step = Step(entry, UPDATE, _fields(entry, current))
        if current is None:
            step.blocked = f"{step.object['name']} was deleted since; revert its deletion first"
        else:
            now.set(key, _after(entry, current))
        return step
    if entry.action == AuditAction.CREATE:
        step = Step(entry, DELETE, _fields(entry, current), gone=current is None)
        now.set(key, None)
        return step
    step = Step(entry, RESTORE, _fields(entry, current))
    if current is not None:
        step.blocked = f"{step.object['name']} (id {entry.object_id}) exists again"
        return step
    if entry.object_type == MODEL_OBJECT_TYPE:
        _plan_model_restore(step, now)
    if not step.blocked:
        now.set(key, _after(entry, None))
    return step


def _plan_model_restore(step: Step, now: RegistryNow) -> None:
    restore = now.model_restore(step.entry)
    if restore is None:
        step.blocked = "its history no longer holds the deleted row (pruned)"
        return
    step.restore = restore
    record = restore.record
    provider = step.entry.changes.get("provider", {}).get("old")
    if not _exists(now, "provider", record.provider_id):
        step.blocked = f"its provider {provider!r} no longer exists; restore the provider first"
        return
    successor = step.entry.changes.get("successor", {}).get("old")
    if record.successor_id is not None and not _exists(now, MODEL_OBJECT_TYPE, record.successor_id):
        restore.successor_gone = successor or f"#{record.successor_id}"
        step.notes.append(f"its successor {restore.successor_gone!r} no longer exists: left empty")
    industries = Industry.objects.in_bulk([row.industry_id for row in restore.profiles])
    kept = []
    for row in restore.profiles:
        industry = industries.get(row.industry_id)
        if industry is None:
            step.notes.append(f"its profile for industry #{row.industry_id} is not restored: the industry is gone")
            continue
        kept.append(row)
        values = {"model": step.entry.object_repr, "industry": industry.slug, "enabled": row.enabled}
        now.set((PROFILE, step.entry.object_id, industry.slug), values | {"settings": row.settings})
    restore.profiles = kept
    if kept:
        slugs = sorted(industries[row.industry_id].slug for row in kept)
        step.info.append(f"with its industry profiles: {', '.join(slugs)}")


def _exists(now: RegistryNow, object_type: str, pk) -> bool:
    """Whether the object will exist when the step is applied: as planned so far, or in the
    database."""
    key = (object_type, str(pk))
    if object_type == MODEL_OBJECT_TYPE and key[1] in now.restoring:
        return True
    if key in now.state:
        return now.state[key] is not None
    return REVERTIBLE[object_type]._base_manager.filter(pk=pk).exists()


def plan_profile(entry: AuditEntry, now: RegistryNow) -> Step:
    """An industry profile, known by its model and industry: its model is updated with the
    profile as it was (added back, removed, or its settings written back)."""
    kind = {AuditAction.UPDATE: UPDATE, AuditAction.CREATE: DELETE, AuditAction.DELETE: RESTORE}[entry.action]
    slug = now.profile_industry(entry)
    key = (PROFILE, entry.parent_id, slug)
    current = now.values(*key) if slug else None
    step = Step(entry, kind, _fields(entry, current, skip=IDENTITY[PROFILE]), industry=slug or "")
    if now.values(MODEL_OBJECT_TYPE, entry.parent_id) is None:
        step.blocked = f"its model {entry.parent_repr} was deleted since; revert that deletion first"
    elif kind == UPDATE and current is None:
        step.blocked = f"{step.object['name']} was removed since"
    elif kind == RESTORE and slug not in now.industry_slugs:
        step.blocked = f"the industry {slug!r} no longer exists"
    elif kind == DELETE:
        step.gone = current is None
        now.set(key, None)
    else:
        now.set(key, _after(entry, current))
    return step


def plan_dependency(entry: AuditEntry, now: RegistryNow) -> Step:
    """A registration: unregistered (undoing its registration), or registered again."""
    key = (DEPENDENCY, entry.object_id)
    current = now.values(*key)
    if entry.action == AuditAction.CREATE:
        step = Step(entry, DELETE, _fields(entry, current, skip=IDENTITY[DEPENDENCY]), gone=current is None)
        now.set(key, None)
        return step
    step = Step(entry, RESTORE, _fields(entry, None, skip=IDENTITY[DEPENDENCY]))
    if now.values(MODEL_OBJECT_TYPE, entry.parent_id) is None:
        step.blocked = f"its model {entry.parent_repr} was deleted since; revert that deletion first"
    return step


PLANNERS = {
    MODEL_OBJECT_TYPE: plan_object,
    "provider": plan_object,
    "industry": plan_object,
    PROFILE: plan_profile,
    DEPENDENCY: plan_dependency,
}
