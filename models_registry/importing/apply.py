"""Write a validated import plan, set-based: bulk inserts and updates (`audit.bulk`), and
their history rows and audit entries through the one change writer (`audit.writer`), a
bounded number of statements per thousand rows."""

from django.db.models import QuerySet
from django.utils import timezone

from audit.bulk import insert_objects, insert_rows, update_objects
from audit.history import snapshot_changes
from audit.writer import ObjectChange, record_changes
from common.compat import raw_delete
from models_registry.folding import fold
from models_registry.importing.plan import NEW, UPDATE, ImportPlan, RowPlan
from models_registry.models import AIModel, ModelIndustryProfile, Provider, RegisteredName
from models_registry.services.catalog import actor_name

BATCH = 1000
BOOKKEEPING_FIELDS = ["version", "updated_at", "updated_by"]
SEARCH_TEXT = AIModel._meta.get_field("search_text")


def _ids(objects) -> list:
    return [obj.pk for obj in objects]


def apply_plan(plan: ImportPlan, *, actor) -> None:
    """Write every row of the plan that is not written yet."""
    apply_rows(plan, [row for row in plan.model_rows if not row.written], actor=actor)


def apply_rows(plan: ImportPlan, rows: list[RowPlan], *, actor) -> None:
    """Write these rows of the plan (the whole plan's new providers first, once), all at
    the time of the plan's first write."""
    if plan.written_at is None:
        plan.written_at = timezone.now()
    timestamp, username = plan.written_at, actor_name(actor)
    _create_providers([provider for provider in plan.new_providers.values() if provider.pk is None], timestamp)

    created = [row for row in rows if row.kind == NEW]
    for row in created:
        row.model.created_by = row.model.updated_by = username
    insert_objects([row.model for row in created])

    # Every changed model moves its version, also when only its profiles changed (the
    # version covers the model's parts); only those whose own fields changed get a history
    # row and an audit entry of the model (the profiles' entries record the rest).
    touched = [row for row in rows if row.kind == UPDATE]
    updated = [row for row in touched if row.changed_fields]
    for row in touched:
        row.model.version += 1
        row.model.updated_by, row.model.updated_at = username, timestamp
        # update_objects writes attributes as they are: the folded search text is refreshed here.
        row.model.search_text = SEARCH_TEXT.folded(row.model)
    if touched:
        fields = sorted({name for row in updated for name in row.changed_fields} | set(BOOKKEEPING_FIELDS))
        if set(fields) & set(SEARCH_TEXT.sources):
            fields.append(SEARCH_TEXT.name)
        update_objects([row.model for row in touched], [AIModel._meta.get_field(name).attname for name in fields])

    # Successors that are themselves created by this file exist only now.
    late = [row for row in created + updated if row.successor_row is not None]
    for row in late:
        row.model.successor = row.successor_row.model
    update_objects([row.model for row in late], ["successor_id"])

    _claim_names(created, updated)
    # The models' records before their profiles': a reader of the change events meets a
    # model (created, renamed) before the profiles that name it.
    record_changes(AIModel, "+", [ObjectChange(r.model, r.changes) for r in created], timestamp)
    record_changes(AIModel, "~", [ObjectChange(r.model, r.changes) for r in updated], timestamp)
    _write_profiles([row for row in rows if row.profile_changes], timestamp)
    for row in rows:
        row.written = True


def _create_providers(providers: list[Provider], timestamp) -> None:
    if not providers:
        return
    Provider.objects.bulk_create(providers, batch_size=BATCH)
    history = Provider.history.model
    record_changes(
        Provider, "+", [ObjectChange(p, snapshot_changes(history, p, created=True)) for p in providers], timestamp
    )


def _claim_names(created: list[RowPlan], updated: list[RowPlan]) -> None:
    renamed = [row for row in updated if row.changed_fields & {"name", "aliases"}]
    RegisteredName.objects.filter(model_id__in=_ids(row.model for row in renamed)).delete()
    names = [
        (name, row.model.pk)
        for row in created + renamed
        for name in dict.fromkeys(fold(n) for n in row.model.all_names)
    ]
    insert_rows(RegisteredName, ["name", "model_id"], names)


def _write_profiles(rows: list[RowPlan], timestamp) -> None:
    changes = [(row, change) for row in rows for change in row.profile_changes]
    created = [change for _, change in changes if change.kind == NEW]
    updated = [change for _, change in changes if change.kind == UPDATE]
    deleted = [change for _, change in changes if change.kind == "delete"]
    for row, change in changes:
        change.profile.model = row.model

    def entries(items):
        return [ObjectChange(c.profile, c.changes) for c in items]

    if deleted:
        record_changes(ModelIndustryProfile, "-", entries(deleted), timestamp)
        doomed: QuerySet = ModelIndustryProfile.objects.filter(pk__in=_ids(c.profile for c in deleted))
        raw_delete(doomed)  # its history is written just above
    insert_objects([c.profile for c in created])
    update_objects([c.profile for c in updated], ["enabled", "settings"])
    record_changes(ModelIndustryProfile, "+", entries(created), timestamp)
    record_changes(ModelIndustryProfile, "~", entries(updated), timestamp)
