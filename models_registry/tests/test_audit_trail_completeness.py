"""Property 11: Audit Trail Completeness."""

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction, ModelStatus
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_create, aimodel_delete, aimodel_update
from models_registry.tests.factories import ProviderFactory
from models_registry.tests.pools import last_entry_id, newest_entries

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


class TestEveryChangeLeavesOneEntry(TestCase):
    """Property 11: Audit Trail Completeness.

    After every create, update and delete, single or bulk, there is exactly
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
