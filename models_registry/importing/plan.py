"""Validate every row of a file and work out what it would change.

Each row runs the same validation as every other door (`validate_aimodel`), against a
view of the registry as it will be after the import (`BatchNameIndex`), so that rows
are checked against each other as well as against the database, with a constant number
of queries whatever the number of rows. The planner writes nothing itself; an import
hands it a writer for the new models that are final before the whole file is validated
(docs/architecture.md, "An import writes its new models while...").
"""

import contextvars
import datetime
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import translation

from audit.history import audited_fields, field_value, snapshot_changes
from models_registry.folding import fold
from models_registry.importing import registry_reads
from models_registry.importing.source import SourceFile, SourceRow
from models_registry.models import AIModel, Industry, ModelIndustryProfile, Provider
from models_registry.models.aimodels import NAME_MAX_LENGTH, NAME_VALIDATOR, is_name, successor_chain_problem
from models_registry.resources import column_widget
from models_registry.services.aimodels import ProfileInput, validate_aimodel
from models_registry.validation_memo import validation_memo

NEW, UPDATE, UNCHANGED, INVALID = "new", "update", "unchanged", "invalid"
# Rows validated at a time: while one chunk's new models are written, the next are validated.
VALIDATION_CHUNK = 2000
# The validating thread gives the interpreter up every this many rows (about a millisecond):
# the writer, back from the database, would otherwise wait out Python's switch interval
# (5 ms) for it, every statement. Measured in docs/benchmarks.md (20,000-row import).
YIELD_EVERY = 10
MODEL_HISTORY = AIModel.history.model
PROFILE_HISTORY = ModelIndustryProfile.history.model


@dataclass
class ProfileChange:
    kind: str  # NEW, UPDATE or "delete"
    profile: ModelIndustryProfile
    changes: dict


@dataclass
class RowPlan:
    source: SourceRow
    kind: str = ""
    errors: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # parsed cells
    model: AIModel | None = None
    changes: dict = field(default_factory=dict)  # the audit diff of the model
    changed_fields: set = field(default_factory=set)
    profiles: list[ModelIndustryProfile] | None = None  # the wanted profiles; None leaves them
    profile_changes: list[ProfileChange] = field(default_factory=list)
    successor_row: "RowPlan | None" = None  # a successor created by this same file
    before: dict | None = None  # the model's audited values before the import (None: new)
    before_successor: int | None = None  # the id of its successor before the import
    wanted_profiles: list = field(default_factory=list)  # validated, unsaved profiles
    alias_target: "RowPlan | None" = None  # for a LiteLLM alias entry: the model it names
    counted: bool = True  # False for a model changed only through alias entries
    written: bool = False  # written while the rest of the file was still being validated

    @property
    def ref(self) -> str:
        return self.source.ref

    @property
    def name(self) -> str:
        value = self.values.get("name", self.source.cells.get("name"))
        return value if isinstance(value, str) else ""

    def fail(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)


@dataclass
class ImportPlan:
    source: SourceFile
    rows: list[RowPlan]
    new_providers: dict = field(default_factory=dict)  # slug -> unsaved Provider
    written_at: datetime.datetime | None = None  # when its first row was written: one time for all

    @property
    def model_rows(self) -> list[RowPlan]:
        """The rows that describe a model (not LiteLLM alias entries)."""
        return [row for row in self.rows if row.source.alias_of is None and row.model is not None]

    @property
    def has_changes(self) -> bool:
        return any(row.kind in (NEW, UPDATE) for row in self.rows)


class BatchNameIndex:
    """Who holds each name and alias once the import is applied: the file's rows for the
    models they describe, the database for every other model."""

    def __init__(self, db_claims: dict, file_claims: dict, models_in_file: set):
        self.db_claims = db_claims  # lowered name -> (model id, model name)
        self.file_claims = file_claims  # lowered name -> [RowPlan, ...]
        self.models_in_file = models_in_file

    def owners(self, lowered_names, model) -> dict[str, str]:
        found = {}
        for name in lowered_names:
            others = [row for row in self.file_claims.get(name, []) if row.model is not model]
            if others:
                found[name] = others[0].name
                continue
            claim = self.db_claims.get(name)
            if claim and claim[0] not in self.models_in_file and claim[0] != model.pk:
                found[name] = claim[1]
        return found


def _parse(row: RowPlan) -> None:
    cells = row.source.cells
    if "__all__" in cells:
        row.fail("__all__", cells["__all__"])
        return
    for column, raw in cells.items():
        try:
            row.values[column] = column_widget(column).clean(raw)
        except ValueError as error:
            row.fail(column, str(error))
    if not row.values.get("name") and "name" not in row.errors:
        row.fail("name", "This field cannot be blank.")


def _mark_duplicates(rows: list[RowPlan]) -> None:
    by_name: dict[str, list[RowPlan]] = {}
    for row in rows:
        if name := row.name:
            by_name.setdefault(fold(name), []).append(row)
    for same in by_name.values():
        if len(same) > 1:
            for row in same:
                others = ", ".join(other.ref for other in same if other is not row)
                row.fail("name", f"{row.name!r} appears more than once (also at {others}; names ignore case).")


def _rendered(model: AIModel) -> dict:
    return {f.name: field_value(model, f) for f in audited_fields(MODEL_HISTORY)}


def no_progress(done: int, total: int) -> None:
    pass


class Planner:
    def __init__(self, source: SourceFile, progress=no_progress):
        self.plan = ImportPlan(source=source, rows=[RowPlan(source=row) for row in source.rows])
        self.progress = progress
        self.providers = {p.slug: p for p in Provider.objects.all()}
        self.industries = {i.slug: i for i in Industry.objects.all()}

    def run(
        self, write_early: Callable[[list[RowPlan]], None] | None = None, *, all_or_nothing: bool = True
    ) -> ImportPlan:
        """Validate and diff every row. With `write_early`, new models are handed to it as
        soon as their rows are final (`_final_and_new`), while the next rows are validated;
        `all_or_nothing`: none after a row found invalid (the import will be refused)."""
        rows = self.plan.rows
        primary = [row for row in rows if row.source.alias_of is None]
        for row in rows:
            _parse(row)
        _mark_duplicates(primary)
        # Only well-formed names are looked up: no other can be in the registry, and one
        # with a NUL in it would not even reach PostgreSQL. Validation reports the rest.
        named = [row.name for row in rows] + [row.source.alias_of for row in rows]
        named += [row.values.get("successor") for row in primary]
        lowered = {fold(name) for name in named if is_name(name)}
        with_profiles = any("industries" in row.values for row in primary)
        self.existing = registry_reads.models_named(sorted(lowered))
        self.stored_profiles = registry_reads.profiles_of(self.existing.values()) if with_profiles else {}
        for row in primary:
            if not row.errors:
                self._build(row)
        by_name = {fold(row.name): row for row in primary if row.model is not None}
        for row in rows:
            if row.source.alias_of is not None and not row.errors:
                self._attach_alias(row, by_name)
        aliases = {fold(a) for row in by_name.values() if isinstance(row.model.aliases, list)
                   for a in row.model.aliases if is_name(a)}  # fmt: skip
        self.claims = registry_reads.name_claims(sorted(lowered | aliases))
        self._resolve_successors(by_name)
        index = self._name_index(by_name)
        total, done = len(by_name), 0
        invalid_seen = any(row.errors for row in rows)
        with validation_memo():  # each distinct industry settings value checked once
            for chunk in self._validated(list(by_name.values()), index, ahead=write_early is not None):
                done += len(chunk)
                self.progress(done, total)
                invalid_seen = invalid_seen or any(row.errors for row in chunk)
                if write_early is not None and not (invalid_seen and all_or_nothing):
                    ready = [row for row in chunk if self._final_and_new(row, index)]
                    for row in ready:
                        self._diff(row)
                    write_early(ready)
        _fail_rows_whose_successor_fails(rows)
        for row in rows:
            target = row.alias_target
            if target is not None and target.errors:
                row.fail("alias_of", f"The model it names ({target.ref}) is invalid.")
            if row.errors:
                row.kind = INVALID
            elif row.source.alias_of is None and not row.written:
                self._diff(row)
        return self.plan

    def _validated(self, rows: list[RowPlan], index: "BatchNameIndex", *, ahead: bool) -> Iterator[list[RowPlan]]:
        """The rows, validated, a chunk at a time. `ahead`: a thread validates the chunks one
        after another while the caller works on those given (writes them: the database's
        share of an import, waiting on which leaves the processor to validation)."""
        chunks = [rows[start : start + VALIDATION_CHUNK] for start in range(0, len(rows), VALIDATION_CHUNK)]
        if not ahead:
            for chunk in chunks:
                self._validate_all(chunk, index)
                yield chunk
            return
        context, language = contextvars.copy_context(), translation.get_language()  # the memo, the language

        def validate(chunk: list[RowPlan]) -> list[RowPlan]:
            with translation.override(language), _no_queries():
                context.run(self._validate_all, chunk, index)
            return chunk

        validator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-validation")
        try:
            for validated in [validator.submit(validate, chunk) for chunk in chunks]:
                yield validated.result()
        finally:
            validator.shutdown(cancel_futures=True)

    def _validate_all(self, rows: list[RowPlan], index: "BatchNameIndex") -> None:
        for number, row in enumerate(rows, start=1):
            self._validate(row, index)
            if number % YIELD_EVERY == 0:
                time.sleep(0)  # in the validating thread, lets a waiting writer have the interpreter

    def _final_and_new(self, row: RowPlan, index: "BatchNameIndex") -> bool:
        """Whether a validated row is a new model that nothing later in the plan can change
        or invalidate, so it may be written before the rest of the file is validated: valid,
        new, its successor (if any) already in the registry, and none of its names held in
        the registry now (a model the file renames could be giving one up)."""
        if row.errors or row.before is not None or row.successor_row is not None:
            return False
        return not any(fold(name) in index.db_claims for name in row.model.all_names)

    def _build(self, row: RowPlan) -> None:
        model = self.existing.get(fold(row.name))
        if model is not None:
            row.before, row.before_successor = _rendered(model), model.successor_id
        model = model or AIModel()
        row.model = model
        for column, value in row.values.items():
            if column == "provider":
                self._set_provider(row, value)
            elif column == "industries":
                row.profiles = self._profiles(row, value)
            elif column != "successor":
                setattr(model, column, value)
        if model.provider_id is None and "provider" not in row.values:
            row.fail("provider", "This field is required.")

    def _set_provider(self, row: RowPlan, slug) -> None:
        if not slug:
            row.fail("provider", "This field is required.")
            return
        provider = self.providers.get(slug) or self.plan.new_providers.get(slug)
        if provider is None:
            provider = Provider(slug=slug, name=slug)
            try:
                provider.full_clean(validate_unique=False)
            except ValidationError as error:
                row.fail("provider", f"{slug!r}: {' '.join(error.message_dict.get('slug', error.messages))}")
                return
            self.plan.new_providers[slug] = provider
        row.model.provider = provider

    def _profiles(self, row: RowPlan, items) -> list[ProfileInput] | None:
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            row.fail("industries", 'Enter a list of {"industry", "enabled", "settings"} objects.')
            return None
        profiles = []
        for item in items:
            industry = self.industries.get(item.get("industry"))
            if industry is None:
                row.fail("industries", f"Unknown industry {item.get('industry')!r}.")
                continue
            enabled, settings = item.get("enabled", True), item.get("settings", {})
            if not isinstance(enabled, bool):
                row.fail("industries", f"{industry.slug}: enabled must be true or false.")
                continue
            profiles.append(ProfileInput(industry=industry, enabled=enabled, settings=settings))
        return profiles

    def _attach_alias(self, row: RowPlan, by_name: dict) -> None:
        alias, target_name = row.name, row.source.alias_of
        try:
            NAME_VALIDATOR(alias)
            if len(alias) > NAME_MAX_LENGTH:
                raise ValidationError(f"At most {NAME_MAX_LENGTH} characters.")
        except ValidationError as error:
            row.fail("name", " ".join(error.messages))
            return
        target = by_name.get(fold(target_name))
        if target is None and fold(target_name) in self.existing:
            model = self.existing[fold(target_name)]
            target = RowPlan(
                source=SourceRow(row.ref, {}),
                values={"name": model.name},
                model=model,
                before=_rendered(model),
                before_successor=model.successor_id,
                counted=False,
            )
            self.plan.rows.append(target)  # written like any row; the alias entry is what is counted
            by_name[fold(target_name)] = target
        if target is None:
            row.fail("alias_of", f"No model named {target_name!r} in the file or the registry.")
            return
        row.alias_target = target
        # An alias entry counts as a name created, or unchanged when its model has it already.
        if fold(alias) not in {fold(a) for a in target.model.aliases}:
            target.model.aliases = [*target.model.aliases, alias]
            row.kind = NEW
        else:
            row.kind = UNCHANGED

    def _resolve_successors(self, by_name: dict) -> None:
        successors = {}
        targets = {
            claim[0] for row in by_name.values() if row.values.get("successor")
            if (claim := self.claims.get(fold(row.values["successor"]))) is not None
        }  # fmt: skip
        loaded = AIModel.objects.in_bulk(targets)
        unbuilt = {fold(r.name): r for r in self.plan.rows if r.source.alias_of is None and r.model is None}
        for key, row in by_name.items():
            if "successor" not in row.values:
                continue
            wanted = row.values["successor"]
            if wanted is None:
                row.model.successor = None
            elif fold(wanted) in by_name:
                row.successor_row = by_name[fold(wanted)]
                if row.successor_row.model.pk is not None:
                    row.model.successor = row.successor_row.model
            elif fold(wanted) in self.claims:
                row.model.successor = loaded[self.claims[fold(wanted)][0]]
            elif fold(wanted) in unbuilt:
                row.fail("successor", f"The successor it names ({unbuilt[fold(wanted)].ref}) is invalid.")
                continue
            else:
                row.fail("successor", f"No model named {wanted!r} in the file or the registry.")
                continue
            target = row.successor_row.model if row.successor_row else row.model.successor
            successors[key] = fold(target.name) if target is not None else None

        def next_of(key):
            if key in successors:
                return successors[key]
            if not is_name(key):
                return None  # a row's malformed name, reported by validation; never sent to a query
            model = self.existing.get(key) or registry_reads.model_named(key)
            return fold(model.successor.name) if model is not None and model.successor else None

        for key, row in by_name.items():
            if successors.get(key) == key:
                row.fail("successor", "A model cannot be its own successor.")
            elif successors.get(key):
                problem = successor_chain_problem(key, successors[key], next_of)
                if problem:
                    row.fail("successor", problem)

    def _name_index(self, by_name: dict) -> BatchNameIndex:
        file_claims: dict[str, list[RowPlan]] = {}
        for row in by_name.values():
            names = [row.model.name, *row.model.aliases] if isinstance(row.model.aliases, list) else [row.model.name]
            for name in names:
                if isinstance(name, str):
                    file_claims.setdefault(fold(name), []).append(row)
        in_file = {row.model.pk for row in by_name.values() if row.model.pk is not None}
        return BatchNameIndex(self.claims, file_claims, in_file)

    def _validate(self, row: RowPlan, index: BatchNameIndex) -> None:
        row.model.name_index = index
        try:
            row.wanted_profiles = validate_aimodel(
                row.model, row.profiles, exclude=["provider", "successor"], validate_constraints=False
            )
        except ValidationError as error:
            for column, messages in error.message_dict.items():
                for message in messages:
                    row.fail(column, message)
        finally:
            del row.model.name_index

    def _diff(self, row: RowPlan) -> None:
        after = _rendered(row.model)
        if row.successor_row is not None:
            after["successor"] = row.successor_row.name
        if row.before_successor is not None and row.model.successor_id == row.before_successor:
            # The same successor, perhaps renamed by this file: that rename is its own change.
            after["successor"] = row.before["successor"]
        if row.before is None:
            row.kind = NEW
            row.changes = {name: {"old": None, "new": value} for name, value in after.items() if value is not None}
        else:
            row.changes = {
                name: {"old": row.before[name], "new": value}
                for name, value in after.items()
                if value != row.before[name]
            }
        row.changed_fields = set(row.changes)
        if row.profiles is not None:
            stored = self.stored_profiles.get(row.model.pk, [])
            row.profile_changes = _profile_changes(row, stored, row.wanted_profiles)
        if row.before is not None:
            row.kind = UPDATE if row.changes or row.profile_changes else UNCHANGED


def _fail_rows_whose_successor_fails(rows: list[RowPlan]) -> None:
    """A row whose successor is another row of the file is invalid when that row is, and
    so on up the chain: it cannot be written without the model it points at."""
    settled: set[int] = set()
    for row in rows:
        path, on_path, current = [], set(), row
        while current is not None and id(current) not in settled and id(current) not in on_path:
            if current.errors:
                break
            path.append(current)
            on_path.add(id(current))
            current = current.successor_row
        failed = current is not None and bool(current.errors)
        for item in reversed(path):
            if failed:
                item.fail("successor", f"The successor it names ({item.successor_row.ref}) is invalid.")
            settled.add(id(item))


def _profile_changes(
    row: RowPlan, stored_profiles: list[ModelIndustryProfile], wanted: list[ModelIndustryProfile]
) -> list[ProfileChange]:
    stored = {p.industry_id: p for p in stored_profiles}
    changes = []
    for profile in [*wanted, *stored.values()]:
        profile.model = row.model  # named as the model will be named (a row may rename it by case)
    for profile in wanted:
        current = stored.pop(profile.industry_id, None)
        if current is None:
            changes.append(ProfileChange(NEW, profile, snapshot_changes(PROFILE_HISTORY, profile, created=True)))
        elif (current.enabled, current.settings) != (profile.enabled, profile.settings):
            diff = {
                key: {"old": getattr(current, key), "new": getattr(profile, key)}
                for key in ("enabled", "settings")
                if getattr(current, key) != getattr(profile, key)
            }
            current.enabled, current.settings = profile.enabled, profile.settings
            changes.append(ProfileChange(UPDATE, current, diff))
    for current in stored.values():
        changes.append(ProfileChange("delete", current, snapshot_changes(PROFILE_HISTORY, current, created=False)))
    return changes


@contextmanager
def _no_queries() -> Iterator[None]:
    """Validation runs no query (what it checks against was read before: BatchNameIndex):
    in the validating thread a query would run outside the import's transaction, so it is
    refused there."""

    def refuse(execute, sql, params, many, context):
        raise RuntimeError(f"Import validation ran a query, which it must not: {sql[:80]}")

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(refuse))
        yield


def plan_import(source: SourceFile, progress=no_progress) -> ImportPlan:
    """Validate and diff every row; `progress(done, total)` is told as rows are checked."""
    return Planner(source, progress).run()
