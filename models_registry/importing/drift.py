"""How the registry differs from an upstream catalog (docs/contract.md §7, "Lifecycle"), and
taking chosen differences from it.

The upstream file is read and checked exactly as an import of it would be (`plan_import`,
writing nothing), so "drift" is what importing the file would change:

- new: models the file describes that the registry does not hold;
- changed: models whose fields the file sets differently (registry value -> upstream value),
  in the audit trail's rendering of values;
- gone: active models of the providers the file covers that the file no longer names
  (neither as a name nor as an alias); those deprecated or retired already are left out;
- invalid: rows the registry could not take (reported, not counted as drift).

`accept_drift` applies chosen rows through the importer (one plan, one apply, one audited
change, source `import`): a new model as the file describes it, only the drifted fields of
a changed one, and a gone model deprecated (never deleted). It applies them only as they
were shown: a row whose drift is different now refuses the whole acceptance.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from audit.choices import ChangeSource
from models_registry.choices import ModelStatus
from models_registry.folding import fold
from models_registry.importing import cycle_collector
from models_registry.importing.apply import apply_plan
from models_registry.importing.plan import INVALID, NEW, UPDATE, ImportPlan, ProfileChange, RowPlan, plan_import
from models_registry.importing.source import SourceFile, SourceRow
from models_registry.models import AIModel
from models_registry.services.catalog import registry_write

GONE_SCAN_CHUNK = 5_000
CHANGED, GONE = "changed", "gone"  # the kinds of drift, with NEW
# What accepting a gone row does: the model is deprecated, so it stops being "gone".
GONE_ACCEPTED = {"status": {"registry": ModelStatus.ACTIVE.value, "upstream": ModelStatus.DEPRECATED.value}}


@dataclass
class DriftRow:
    kind: str  # NEW, CHANGED or GONE
    name: str
    changes: dict  # {field: {"registry": value, "upstream": value}}; for GONE, what accepting it does

    def as_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "changes": self.changes}


@dataclass
class Drift:
    rows: list[DriftRow] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)  # {"row", "name", "errors": {column: [message]}}
    compared: int = 0  # the file's rows the registry could take

    def of_kind(self, kind: str) -> list[DriftRow]:
        return [row for row in self.rows if row.kind == kind]

    @property
    def new(self) -> list[str]:
        return [row.name for row in self.of_kind(NEW)]

    @property
    def changed(self) -> list[dict]:
        return [{"name": row.name, "changes": row.changes} for row in self.of_kind(CHANGED)]

    @property
    def gone(self) -> list[str]:
        return [row.name for row in self.of_kind(GONE)]

    @property
    def in_sync(self) -> bool:
        return not self.rows

    def as_json(self) -> dict:
        return {"new": self.new, "changed": self.changed, "gone": self.gone, "invalid": self.invalid}

    def summary(self) -> str:
        return f"new={len(self.new)} changed={len(self.changed)} gone={len(self.gone)} invalid={len(self.invalid)}"


class DriftNotAccepted(Exception):
    """Nothing was applied: `stale` names the rows whose drift is not what was shown any
    more; `problems` says what else stood in the way."""

    def __init__(self, *, stale: list[str] = (), problems: list[str] = ()):
        self.stale, self.problems = list(stale), list(problems)
        super().__init__("; ".join([*self.problems, *(f"{name}: changed since the preview" for name in self.stale)]))


@dataclass
class Accepted:
    created: int
    updated: int
    deprecated: int


def _profile_changes(changes: list[ProfileChange]) -> dict:
    """A model's industry profile changes, one key per industry."""
    found = {}
    for change in changes:
        slug = change.profile.industry.slug
        if change.kind == NEW:
            found[f"industries.{slug}"] = {"registry": None, "upstream": _profile(change.profile)}
        elif change.kind == UPDATE:
            found[f"industries.{slug}"] = {
                "registry": {key: diff["old"] for key, diff in change.changes.items()},
                "upstream": {key: diff["new"] for key, diff in change.changes.items()},
            }
        else:
            found[f"industries.{slug}"] = {"registry": _profile(change.profile), "upstream": None}
    return found


def _profile(profile) -> dict:
    return {"enabled": profile.enabled, "settings": profile.settings}


def _drift_row(row: RowPlan, kind: str) -> DriftRow:
    changes = {name: {"registry": diff["old"], "upstream": diff["new"]} for name, diff in row.changes.items()}
    return DriftRow(kind, row.model.name, changes | _profile_changes(row.profile_changes))


def _gone(plan: ImportPlan) -> list[str]:
    """Names of the registry's active models, of the providers the file covers, that it does not name."""
    provider_ids = {row.model.provider_id for row in plan.model_rows if row.model.provider_id is not None}
    named = {fold(row.name) for row in plan.rows if row.name}
    for row in plan.model_rows:
        if isinstance(row.model.aliases, list):
            named.update(fold(alias) for alias in row.model.aliases if isinstance(alias, str))
    candidates = (
        AIModel.objects.filter(provider_id__in=provider_ids, status=ModelStatus.ACTIVE)
        .order_by("name")
        .values_list("name", "aliases")
    )
    return [
        name
        for name, aliases in candidates.iterator(chunk_size=GONE_SCAN_CHUNK)
        if fold(name) not in named and not any(fold(alias) in named for alias in aliases)
    ]


def catalog_drift(source: SourceFile) -> Drift:
    """Compare the registry with `source`; change nothing."""
    with cycle_collector.paused(), transaction.atomic():  # the plan reads the named models locked, as an import's
        plan = plan_import(source)
    drift = Drift()
    for row in plan.rows:
        if row.kind == INVALID:
            drift.invalid.append({"row": row.ref, "name": row.name, "errors": row.errors})
        elif row.counted:
            drift.compared += 1
    found = [_drift_row(row, {NEW: NEW, UPDATE: CHANGED}[row.kind]) for row in plan.model_rows
             if row.kind in (NEW, UPDATE)]  # fmt: skip
    found.sort(key=lambda row: (row.kind != NEW, fold(row.name)))
    drift.rows = found + [DriftRow(GONE, name, GONE_ACCEPTED) for name in _gone(plan)]
    return drift


def accepted_source(source: SourceFile, accepted: list[DriftRow]) -> SourceFile:
    """The part of `source` that applies `accepted` and nothing else: a new model's entry
    (and the alias entries naming it), a changed model's name and drifted columns only, and
    a status column deprecating each gone model."""
    chosen = {fold(row.name): row for row in accepted}
    rows, described = [], set()
    for source_row in source.rows:
        name = source_row.cells.get("name")
        key = fold(source_row.alias_of if source_row.alias_of is not None else name) if isinstance(name, str) else None
        row = chosen.get(key)
        if row is None or row.kind == GONE:
            continue
        if source_row.alias_of is not None:
            if row.kind == NEW or "aliases" in row.changes:
                rows.append(source_row)
            continue
        described.add(key)
        if row.kind == NEW:
            rows.append(source_row)
        else:
            columns = {change.split(".")[0] for change in row.changes}
            rows.append(SourceRow(source_row.ref, {column: value for column, value in source_row.cells.items()
                                                   if column == "name" or column in columns}))  # fmt: skip
    for key, row in chosen.items():
        if row.kind == GONE:
            rows.append(SourceRow(f"gone {row.name!r}", {"name": row.name, "status": ModelStatus.DEPRECATED.value}))
        elif row.kind == CHANGED and key not in described:
            # changed through alias entries only: the model is named so they can attach to it
            rows.insert(0, SourceRow(f"model {row.name!r}", {"name": row.name}))
    return SourceFile(name=source.name, format=source.format, rows=rows, columns=source.columns | {"status"})


def accept_drift(
    source: SourceFile, *, accepted: list[DriftRow], actor, reason: str = "", may_create_providers: bool = True
) -> Accepted:
    """Apply the `accepted` rows of a drift shown from `source`, as one audited change
    (source `import`); all of them or, raising DriftNotAccepted, none."""
    wanted = {fold(row.name): row for row in accepted}
    reason = f"catalog drift {source.name}: {reason}" if reason else f"catalog drift {source.name}"
    try:
        with cycle_collector.paused(), transaction.atomic():
            plan = plan_import(accepted_source(source, accepted))
            now = {fold(row.model.name): row for row in plan.model_rows}
            stale = [row.name for key, row in wanted.items() if _stale(now.get(key), row)]
            problems = [f"{row.name or row.ref}: {column}: {message}" for row in plan.rows
                        if row.kind == INVALID and row.name not in stale  # (a stale row's errors are its staleness's)
                        for column, messages in row.errors.items() for message in messages]  # fmt: skip
            if plan.new_providers and not may_create_providers:
                providers = ", ".join(sorted(plan.new_providers))
                problems.append(f"Creating providers takes the right to add providers: {providers}.")
            if stale or problems:
                raise DriftNotAccepted(stale=stale, problems=problems)
            with registry_write(actor=actor, reason=reason, source=ChangeSource.IMPORT):
                apply_plan(plan, actor=actor)
    except IntegrityError as error:
        raise DriftNotAccepted(
            problems=["The registry changed meanwhile (a name or alias was taken); nothing was applied."]
        ) from error
    kinds = [row.kind for row in accepted]
    return Accepted(created=kinds.count(NEW), updated=kinds.count(CHANGED), deprecated=kinds.count(GONE))


def _stale(row: RowPlan | None, shown: DriftRow) -> bool:
    """Whether the registry changed since `shown` so that applying the row now would do
    something else. (A row invalid for another reason, such as a successor not accepted
    with it, is a problem, not stale.)"""
    if row is None or (row.before is None) != (shown.kind == NEW):
        return True  # created, or deleted, since
    if row.kind == INVALID:
        return False
    return row.kind != (NEW if shown.kind == NEW else UPDATE) or _drift_row(row, shown.kind) != shown
