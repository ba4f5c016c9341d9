"""Bulk operations over many models, set-based: a bounded number of statements per
chunk of ids however many models change, with one audit entry per changed model."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from audit.choices import AuditAction, ChangeSource
from audit.history import snapshot_changes
from audit.writer import ObjectChange, record_changes, record_same_change
from common.batches import IDS_PER_STATEMENT, batched
from common.compat import raw_delete
from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction
from models_registry.models import AIModel, ModelDependency, ModelIndustryProfile, RegisteredName, ScheduledChange
from models_registry.selectors import dependents_of
from models_registry.services.catalog import actor_name, registry_write

CHUNK_SIZE = IDS_PER_STATEMENT
NOT_APPLIED = "not applied: another item of this atomic request failed"


@dataclass
class BulkItemResult:
    id: object
    ok: bool
    error: str | None = None
    dependencies: list[dict] | None = None
    unchanged: bool = False

    def as_dict(self) -> dict:
        result = {"id": self.id, "ok": self.ok}
        if self.error is not None:
            result["error"] = self.error
        if self.dependencies is not None:
            result["dependencies"] = self.dependencies
        if self.unchanged:
            result["unchanged"] = True
        return result


@dataclass
class BulkResult:
    action: str
    results: list[BulkItemResult] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return sum(item.ok for item in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.succeeded

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "total": len(self.results),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "results": [item.as_dict() for item in self.results],
        }


def aimodel_bulk_apply(
    *, action: BulkAction, ids: list, actor, reason: str = "", atomic: bool = False, source: str = ChangeSource.BULK
) -> BulkResult:
    """Apply `action` to each id on its own; with `atomic`, to all or (on any failure) none.
    `source` is the door recorded in the audit trail (a command says `cli`)."""
    ids = list(dict.fromkeys(ids))  # a repeated id is one item
    with registry_write(actor=actor, reason=reason, source=source) as write:
        plan = _plan_delete(ids) if action == BulkAction.DELETE else _plan_status(ids, STATUS_BY_BULK_ACTION[action])
        failures = plan.failures
        if atomic and failures:
            write.changed = False
            return BulkResult(action, [failures.get(i) or BulkItemResult(i, False, NOT_APPLIED) for i in ids])
        write.changed = plan.changes_anything
        plan.apply(actor)
    results = [failures.get(i) or BulkItemResult(i, True, unchanged=i in plan.unchanged) for i in ids]
    return BulkResult(action, results)


@dataclass
class _Plan:
    failures: dict = field(default_factory=dict)
    unchanged: set = field(default_factory=set)

    @property
    def changes_anything(self) -> bool:
        raise NotImplementedError

    def apply(self, actor) -> None:
        raise NotImplementedError


def _existing(ids: list) -> dict:
    """{id: status} of the models among `ids`, locked until the transaction ends."""
    valid = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    found = {}
    for chunk in batched(valid, CHUNK_SIZE):
        found.update(AIModel.objects.select_for_update().filter(pk__any=chunk).order_by().values_list("pk", "status"))
    return found


@dataclass
class _StatusPlan(_Plan):
    status: str = ""
    by_old_status: dict = field(default_factory=dict)

    @property
    def changes_anything(self) -> bool:
        return bool(self.by_old_status)

    def apply(self, actor) -> None:
        timestamp = timezone.now()
        for old_status, ids in self.by_old_status.items():
            for chunk in batched(ids, CHUNK_SIZE):
                rows = AIModel.objects.filter(pk__any=chunk)
                rows.update(
                    status=self.status, version=F("version") + 1, updated_at=timestamp, updated_by=actor_name(actor)
                )
                record_same_change(
                    rows,
                    action=AuditAction.UPDATE,
                    changes={"status": {"old": old_status, "new": self.status}},
                    object_repr="name",
                    timestamp=timestamp,
                )


def _plan_status(ids: list, status: str) -> _StatusPlan:
    found = _existing(ids)
    plan = _StatusPlan(status=status)
    plan.failures = {i: BulkItemResult(i, False, "not found") for i in ids if i not in found}
    for pk, old_status in found.items():
        if old_status == status:
            plan.unchanged.add(pk)
        else:
            plan.by_old_status.setdefault(old_status, []).append(pk)
    return plan


@dataclass
class _DeletePlan(_Plan):
    deletable: list = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.deletable)

    def apply(self, actor) -> None:
        timestamp = timezone.now()
        for chunk in batched(self.deletable, CHUNK_SIZE):
            models = AIModel.objects.filter(pk__in=chunk)
            profiles = ModelIndustryProfile.objects.filter(model__in=chunk)
            _record_deletions(profiles.select_related("model", "industry"), timestamp)
            _record_deletions(models.select_related("provider", "successor"), timestamp)
            # Signals are skipped on purpose: the rows above are the history these deletes would write.
            names, scheduled = (
                RegisteredName.objects.filter(model__in=chunk),
                ScheduledChange.objects.filter(model__in=chunk),
            )
            for queryset in (names, scheduled, profiles, models):
                raw_delete(queryset)
        connection.check_constraints(table_names=[ModelDependency._meta.db_table])


def _record_deletions(queryset: QuerySet, timestamp) -> None:
    history_model = queryset.model.history.model
    changes = [ObjectChange(row, snapshot_changes(history_model, row, created=False)) for row in queryset]
    record_changes(queryset.model, "-", changes, timestamp)


def _plan_delete(ids: list) -> _DeletePlan:
    found = _existing(ids)
    plan = _DeletePlan()
    plan.failures = {i: BulkItemResult(i, False, "not found") for i in ids if i not in found}
    dependents = dependents_of(found)
    deletable = {pk for pk in found if pk not in dependents}
    # A model named as successor only by models deleted in this same request may go too.
    settled = False
    while not settled:
        settled = True
        for pk in set(dependents) - deletable:
            if all(_is_predecessor_in(dep, deletable) for dep in dependents[pk]):
                deletable.add(pk)
                settled = False
    for pk, deps in dependents.items():
        if pk not in deletable:
            plan.failures[pk] = BulkItemResult(pk, False, "has dependencies", [d.as_dict() for d in deps])
    plan.deletable = sorted(deletable)
    return plan


def _is_predecessor_in(dependent, ids: set) -> bool:
    return dependent.component_type == "aimodel.successor" and int(dependent.component_id) in ids
