"""Properties 8, 11 and 15: deletion under dependencies, the audit trail, bulk operations."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.models import AuditEntry
from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction, ModelStatus
from models_registry.models import AIModel, ModelDependency
from models_registry.services import (
    HasDependenciesError,
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_register,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory

MISSING_ID = 10**12


def make_pool(statuses: list[str], dependency_counts: list[int]) -> list[AIModel]:
    provider = ProviderFactory()
    pool = []
    for index, (status, dependencies) in enumerate(zip(statuses, dependency_counts, strict=False)):
        model = AIModelFactory(name=f"pool-{index}", provider=provider, status=status)
        for number in range(dependencies):
            dependency_register(model=model, component_type="agent", component_id=str(number), actor=None)
        pool.append(model)
    return pool


def registered_dependencies(model: AIModel) -> list[tuple]:
    return sorted(ModelDependency.objects.filter(model=model).values_list("component_type", "component_id"))


def newest_entries(after_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=after_id).order_by("id"))


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


pools = st.lists(st.tuples(st.sampled_from(ModelStatus.values), st.integers(0, 2)), min_size=1, max_size=6)


class TestProperty8DependencyBasedDeletionControl(TestCase):
    """Property 8: a model is deleted if and only if nothing depends on it, through the
    single delete and the bulk delete alike; a refusal names every dependent."""

    @given(pools, st.booleans())
    def test_models_with_dependencies_are_never_deleted(self, specs, through_bulk):
        pool = make_pool([s for s, _ in specs], [d for _, d in specs])
        expected_dependencies = {model.pk: registered_dependencies(model) for model in pool}

        if through_bulk:
            result = aimodel_bulk_apply(action=BulkAction.DELETE, ids=[m.pk for m in pool], actor=None)
            refused = {
                item.id: sorted((d["component_type"], d["component_id"]) for d in item.dependencies)
                for item in result.results
                if not item.ok
            }
        else:
            refused = {}
            for model in pool:
                try:
                    aimodel_delete(model=model, actor=None)
                except HasDependenciesError as error:
                    refused[model.pk] = sorted((d.component_type, d.component_id) for d in error.dependents)

        for model in pool:
            exists = AIModel.objects.filter(pk=model.pk).exists()
            assert exists == bool(expected_dependencies[model.pk])
            if exists:
                assert refused[model.pk] == expected_dependencies[model.pk]
        assert ModelDependency.objects.filter(model__isnull=True).count() == 0

    def test_a_successor_is_a_dependent_until_its_predecessor_goes(self):
        old, new = AIModelFactory(name="old"), AIModelFactory(name="new")
        aimodel_update(model=old, actor=None, successor=new)

        with pytest.raises(HasDependenciesError) as caught:
            aimodel_delete(model=new, actor=None)
        together = aimodel_bulk_apply(action=BulkAction.DELETE, ids=[new.pk, old.pk], actor=None)

        assert [d.component_type for d in caught.value.dependents] == ["aimodel.successor"]
        assert together.succeeded == 2
        assert not AIModel.objects.filter(pk__in=[old.pk, new.pk]).exists()


# One step of a random program: (operation, model index, field, value).
UPDATES = {
    "display_name": st.sampled_from(["", "Alpha", "Beta"]),
    "context_window": st.sampled_from([None, 8192, 128_000]),
    "status": st.sampled_from(ModelStatus.values),
    "capabilities": st.sampled_from([[], ["vision"], ["streaming", "vision"]]),
}
steps = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 3)),
    st.tuples(st.just("update"), st.integers(0, 3), st.sampled_from(sorted(UPDATES)), st.data()),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("bulk"), st.sampled_from(BulkAction.values), st.lists(st.integers(0, 3), max_size=4)),
)


class TestProperty11AuditTrailCompleteness(TestCase):
    """Property 11: after every create, update and delete, single or bulk, there is exactly
    one audit entry per object that changed, with its before and after values, and none
    for an operation that changed nothing."""

    @given(st.lists(steps, min_size=1, max_size=12))
    def test_every_change_leaves_exactly_one_correct_entry(self, program):
        provider = ProviderFactory()
        live: dict[int, AIModel] = {}  # index -> model

        for step in program:
            mark = last_entry_id()
            expected = []  # (action, object_repr, changes or None for "any")
            kind, *args = step
            if kind == "create":
                index = args[0]
                if index in live:
                    continue
                live[index] = aimodel_create(actor=None, provider=provider, name=f"m{index}")
                expected.append(("create", f"m{index}", None))
            elif kind == "update":
                index, field, data = args
                if index not in live:
                    continue
                value = data.draw(UPDATES[field])
                old = getattr(AIModel.objects.get(pk=live[index].pk), field)
                live[index] = aimodel_update(model=live[index], actor=None, **{field: value})
                if old != value:
                    expected.append(("update", f"m{index}", {field: {"old": old, "new": value}}))
            elif kind == "delete":
                index = args[0]
                if index not in live:
                    continue
                aimodel_delete(model=live.pop(index), actor=None)
                expected.append(("delete", f"m{index}", None))
            else:
                action, indexes = args
                targets = {i: live[i] for i in dict.fromkeys(indexes) if i in live}
                if action == BulkAction.DELETE:
                    expected += [("delete", f"m{i}", None) for i in targets]
                else:
                    new = STATUS_BY_BULK_ACTION[action]
                    for i, model in targets.items():
                        old = AIModel.objects.get(pk=model.pk).status
                        if old != new:
                            expected.append(("update", f"m{i}", {"status": {"old": old, "new": new}}))
                aimodel_bulk_apply(action=action, ids=[m.pk for m in targets.values()], actor=None)
                if action == BulkAction.DELETE:
                    for i in targets:
                        live.pop(i)

            entries = newest_entries(mark)
            assert sorted((e.action, e.object_repr) for e in entries) == sorted((a, r) for a, r, _ in expected)
            by_repr = {(e.action, e.object_repr): e for e in entries}
            for action, name, changes in expected:
                entry = by_repr[(action, name)]
                assert entry.object_type == "aimodel"
                if changes is not None:
                    assert entry.changes == changes
                if action == "create":
                    assert entry.changes["name"] == {"old": None, "new": name}
                if action == "delete":
                    assert entry.changes["name"] == {"old": name, "new": None}


def request_ids(pool_ids: list[int]):
    """Some of the pool's ids (maybe repeated), and maybe ids that do not exist."""
    existing = st.lists(st.sampled_from(pool_ids), max_size=len(pool_ids) + 2)
    missing = st.lists(st.integers(MISSING_ID, MISSING_ID + 3), max_size=2)
    return st.tuples(existing, missing).flatmap(lambda pair: st.permutations(pair[0] + pair[1]))


class TestProperty15BulkOperationProcessing(TestCase):
    """Property 15: one result per requested id, in order; counts add up; each item
    succeeds or fails on its own; atomic requests change all or nothing."""

    @given(pools, st.sampled_from(BulkAction.values), st.booleans(), st.data())
    def test_bulk_results_are_per_item_and_atomic_is_all_or_nothing(self, specs, action, atomic, data):
        pool = make_pool([s for s, _ in specs], [d for _, d in specs])
        ids = data.draw(request_ids([m.pk for m in pool])) or [pool[0].pk]
        before = {m.pk: (m.status, registered_dependencies(m)) for m in pool}
        mark = last_entry_id()

        result = aimodel_bulk_apply(action=action, ids=ids, actor=None, atomic=atomic)

        unique_ids = list(dict.fromkeys(ids))
        assert [item.id for item in result.results] == unique_ids
        assert result.as_dict()["total"] == len(unique_ids) == result.succeeded + result.failed

        def failure(pk):
            if pk not in before:
                return "not found"
            if action == BulkAction.DELETE and before[pk][1]:
                return "has dependencies"
            return None

        failures = {pk: failure(pk) for pk in unique_ids if failure(pk)}
        outcome = {item.id: item for item in result.results}
        for pk, reason in failures.items():
            assert outcome[pk].ok is False and outcome[pk].error == reason

        if atomic and failures:
            assert result.succeeded == 0
            assert newest_entries(mark) == []
            assert {m.pk: m.status for m in AIModel.objects.all()} == {pk: s for pk, (s, _) in before.items()}
            return

        succeeded = [pk for pk in unique_ids if pk not in failures]
        assert all(outcome[pk].ok for pk in succeeded)
        if action == BulkAction.DELETE:
            assert not AIModel.objects.filter(pk__in=succeeded).exists()
            changed = succeeded
        else:
            new = STATUS_BY_BULK_ACTION[action]
            assert set(AIModel.objects.filter(pk__in=succeeded).values_list("status", flat=True)) <= {new}
            changed = [pk for pk in succeeded if before[pk][0] != new]
        entries = newest_entries(mark)
        assert sorted(int(e.object_id) for e in entries) == sorted(changed)
        assert {e.source for e in entries} <= {"bulk"}


def test_a_bulk_operation_that_changes_nothing_leaves_the_catalog_version_alone(db):
    from models_registry.selectors import catalog_version

    active = AIModelFactory(name="already-active")
    before = catalog_version()

    unchanged = aimodel_bulk_apply(action=BulkAction.ACTIVATE, ids=[active.pk], actor=None)
    refused = aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[active.pk, MISSING_ID], actor=None, atomic=True)

    assert unchanged.results[0].unchanged and refused.succeeded == 0
    assert catalog_version() == before
    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[active.pk], actor=None)
    assert catalog_version() > before
