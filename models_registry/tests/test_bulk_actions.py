"""Bulk operations: the service every door calls (Property 15: Bulk Operation Processing)
and the admin list's selection (Property 16: Multi-Select Functionality)."""

import csv
import io
import json

from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.choices import AuditAction, ChangeSource
from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction, ModelStatus
from models_registry.models import AIModel, ModelDependency
from models_registry.services import aimodel_bulk_apply, aimodel_create, dependency_register
from models_registry.tests.admin_pages import (
    CHANGELIST,
    audit_entries_after,
    by_class,
    last_audit_id,
    page_of,
    result_rows,
    signed_in,
    staff,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.pools import (
    MISSING_ID,
    last_entry_id,
    make_pool,
    newest_entries,
    pools,
    registered_dependencies,
)


def request_ids(pool_ids: list[int]):
    """Some of the pool's ids (maybe repeated), and maybe ids that do not exist."""
    existing = st.lists(st.sampled_from(pool_ids), max_size=len(pool_ids) + 2)
    missing = st.lists(st.integers(MISSING_ID, MISSING_ID + 3), max_size=2)
    return st.tuples(existing, missing).flatmap(lambda pair: st.permutations(pair[0] + pair[1]))


class TestBulkResultsPerItem(TestCase):
    """Property 15: Bulk Operation Processing.

    One result per requested id, in order; counts add up; each item
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


# =====================================================================================
# Property 16: Multi-Select Functionality
# =====================================================================================

registry_specs = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(ModelStatus.values),
            "provider": st.integers(0, 1),
            "model_type": st.sampled_from(["chat", "embedding"]),
            "dependencies": st.integers(0, 1),
            "successor": st.none() | st.integers(0, 7),  # an earlier model, when there is one
        }
    ),
    min_size=1,
    max_size=8,
)
list_filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(ModelStatus.values),
        "provider": st.integers(0, 1),
        "model_type": st.sampled_from(["chat", "embedding"]),
        "has_dependencies": st.sampled_from(["true", "false"]),
    },
)
ACTIONS = ["bulk_activate", "bulk_deactivate", "bulk_deprecate", "bulk_delete", "export_csv", "export_json"]


def blocked_deletions(models: list[AIModel], targeted: set[int]) -> set[int]:
    """The targeted models a delete must skip: those with dependencies, or named as
    successor by a model that is not deleted with them."""
    predecessors = {m.pk: [p.pk for p in models if p.successor_id == m.pk] for m in models}
    used = set(ModelDependency.objects.values_list("model_id", flat=True))
    deletable: set[int] = set()
    settled = False
    while not settled:
        settled = True
        for pk in targeted - deletable:
            if pk not in used and all(p in deletable for p in predecessors[pk]):
                deletable.add(pk)
                settled = False
    return targeted - deletable


class TestAdminMultiSelect(TestCase):
    """Property 16: Multi-Select Functionality.

    The list offers exactly the models its filters select; a bulk action
    acts on exactly the selected models (or, with "select all", exactly the filtered
    ones) and on nothing else; its result page lists exactly those models, each with its
    outcome, with totals that add up; an export holds exactly them."""

    @given(registry_specs, list_filters, st.sampled_from(ACTIONS), st.booleans(), st.data())
    def test_a_bulk_action_acts_on_exactly_the_selection(self, specs, filters, action, select_across, data):
        note(f"registry={specs!r} filters={filters!r} action={action!r} select_across={select_across!r}")
        administrator = staff("admin")
        providers = [ProviderFactory(), ProviderFactory()]
        models = []
        for index, spec in enumerate(specs):
            successor = (
                models[spec["successor"]] if spec["successor"] is not None and spec["successor"] < index else None
            )
            model = aimodel_create(
                actor=None,
                name=f"m-{index}",
                provider=providers[spec["provider"]],
                status=spec["status"],
                model_type=spec["model_type"],
                successor=successor,
            )
            if spec["dependencies"]:
                dependency_register(model=model, component_type="agent", component_id=f"a{index}", actor=None)
            models.append(model)
        params = {**filters}
        if "provider" in params:
            params["provider"] = providers[params["provider"]].slug
        # "Dependencies" in the list are registered components (a successor link is not one,
        # though it too keeps a model from being deleted: see blocked_deletions).
        used = set(ModelDependency.objects.values_list("model_id", flat=True))

        def listed(model: AIModel) -> bool:
            return (
                model.status == filters.get("status", model.status)
                and model.model_type == filters.get("model_type", model.model_type)
                and model.provider.slug == params.get("provider", model.provider.slug)
                and (model.pk in used)
                == (filters.get("has_dependencies", "true" if model.pk in used else "false") == "true")
            )

        visible = {m.pk for m in models if listed(m)}
        client = signed_in(administrator)
        query = "&".join(f"{name}={value}" for name, value in params.items())
        url = f"{CHANGELIST}?{query}" if query else CHANGELIST

        offered = {int(selected) for selected, _, _ in result_rows(page_of(client.get(url)))}

        assert offered == visible
        assume(visible)
        if select_across:
            selected = sorted(visible)
        else:
            selected = data.draw(st.lists(st.sampled_from(sorted(visible)), min_size=1, unique=True), label="selected")
        hidden = sorted({m.pk for m in models} - visible)
        tampered = data.draw(st.lists(st.sampled_from(hidden), unique=True), label="hidden") if hidden else []
        targeted = visible if select_across else set(selected)
        before = {m.pk: (m.status, AIModel.objects.get(pk=m.pk).version) for m in models}
        mark = last_audit_id()

        response = client.post(
            url,
            {
                "action": action,
                "_selected_action": [str(pk) for pk in selected + tampered],
                "select_across": "1" if select_across else "0",
                "index": "0",
            },
        )

        names = {m.pk: m.name for m in models}
        if action.startswith("export_"):
            content = b"".join(response.streaming_content).decode()
            if action == "export_csv":
                exported = [row["name"] for row in csv.DictReader(io.StringIO(content))]
            else:
                exported = [row["name"] for row in json.loads(content)]
            assert sorted(exported) == sorted(names[pk] for pk in targeted)
            assert {m.pk: (m.status, m.version) for m in AIModel.objects.all()} == before
            assert last_audit_id() == mark
            return

        assert response.status_code == 200
        result, rows = response.context["result"], response.context["rows"]
        bulk_action = BulkAction(action.removeprefix("bulk_"))
        assert sorted(name for _, name in rows) == sorted(names[pk] for pk in targeted)
        assert result.succeeded + result.failed == len(result.results) == len(targeted)
        page = page_of(response)
        table = by_class(page, "table", "llm-results")
        shown_rows = {
            tr.elements("td")[0].text(): tr.elements("td")[1].text() for tr in table.find("tbody").elements("tr")
        }
        totals = by_class(page, "p", "llm-totals").text()
        entries = [e for e in audit_entries_after(mark) if e.object_type == "aimodel"]
        for entry in entries:
            assert (entry.source, entry.username) == (ChangeSource.BULK, administrator.username)

        if bulk_action == BulkAction.DELETE:
            blocked = blocked_deletions(models, targeted)
            deleted = targeted - blocked
            assert set(AIModel.objects.values_list("pk", flat=True)) == {m.pk for m in models} - deleted
            assert shown_rows == {names[pk]: ("skipped" if pk in blocked else "deleted") for pk in targeted}
            assert (result.succeeded, result.failed) == (len(deleted), len(blocked))
            assert sorted((e.action, int(e.object_id)) for e in entries) == sorted(
                (AuditAction.DELETE, pk) for pk in deleted
            )
        else:
            status = STATUS_BY_BULK_ACTION[bulk_action]
            after = {m.pk: (m.status, m.version) for m in AIModel.objects.all()}
            changed = {pk for pk in targeted if before[pk][0] != status}
            for pk, (old_status, old_version) in before.items():
                if pk in targeted:
                    assert after[pk] == (status, old_version + (1 if pk in changed else 0))
                else:
                    assert after[pk] == (old_status, old_version)
            assert shown_rows == {names[pk]: ("done" if pk in changed else "unchanged") for pk in targeted}
            assert (result.succeeded, result.failed) == (len(targeted), 0)
            assert sorted(int(e.object_id) for e in entries) == sorted(changed)
            for entry in entries:
                assert entry.changes == {"status": {"old": before[int(entry.object_id)][0], "new": status}}
        assert " ".join(totals.split()) == (
            f"{result.succeeded} succeeded, {result.failed} failed, of {len(targeted)} selected."
        )
