"""Importing models from files: read (readers), check (plan), write (apply).

source = read_path("catalog.json")            # or read_source(name, bytes, fmt)
report = import_models(source, actor=user, dry_run=False, skip_invalid=False)
print(report.summary())                       # created=N updated=N unchanged=N invalid=N
"""

from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction

from audit.choices import ChangeSource
from models_registry.importing.apply import apply_plan, apply_rows
from models_registry.importing.plan import (
    INVALID,
    NEW,
    UNCHANGED,
    UPDATE,
    ImportPlan,
    Planner,
    RowPlan,
    no_progress,
    plan_import,
)
from models_registry.importing.readers import FORMATS, detect_format, max_import_bytes, read_path, read_source
from models_registry.importing.source import ImportFileError, SourceFile
from models_registry.services.catalog import registry_write


class ImportRefused(Exception):
    """A row is invalid and the import is all or nothing: roll back whatever was written."""

    def __init__(self, plan: ImportPlan):
        super().__init__("refused")
        self.plan = plan


class ImportConflictError(Exception):
    """The registry changed under the import (a name taken meanwhile); nothing was applied."""


@dataclass
class ImportReport:
    plan: ImportPlan
    applied: bool

    @property
    def rows(self) -> list[RowPlan]:
        return [row for row in self.plan.rows if row.counted]

    def count(self, kind: str) -> int:
        return sum(1 for row in self.rows if row.kind == kind)

    @property
    def invalid_rows(self) -> list[RowPlan]:
        return [row for row in self.rows if row.kind == INVALID]

    def summary(self) -> str:
        return (
            f"created={self.count(NEW)} updated={self.count(UPDATE)} "
            f"unchanged={self.count(UNCHANGED)} invalid={self.count(INVALID)}"
        )


def import_models(
    source: SourceFile,
    *,
    actor,
    reason: str = "",
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress=no_progress,
) -> ImportReport:
    """Apply every valid row, or (by default) nothing at all when any row is invalid.

    New models are written while the rest of the file is still being validated (the
    database's share of the work overlaps validation's, plan.Planner.run): all in one
    transaction, rolled back when the import turns out refused."""
    reason = f"import {source.name}: {reason}" if reason else f"import {source.name}"
    try:
        with transaction.atomic():
            if dry_run:
                return ImportReport(plan=plan_import(source, progress), applied=False)
            try:
                with registry_write(actor=actor, reason=reason, source=ChangeSource.IMPORT) as write:
                    planner = Planner(source, progress)
                    write_early = partial(apply_rows, planner.plan, actor=actor)
                    plan = planner.run(write_early, all_or_nothing=not skip_invalid)
                    if not skip_invalid and any(row.kind == INVALID for row in plan.rows):
                        raise ImportRefused(plan)  # and what was written early is rolled back
                    write.changed = plan.has_changes
                    if plan.has_changes:
                        apply_plan(plan, actor=actor)
            except ImportRefused as refused:
                return ImportReport(plan=refused.plan, applied=False)
    except IntegrityError as error:
        raise ImportConflictError(
            "The registry changed while importing (a name or alias was taken meanwhile); nothing was applied. "
            "Run the import again."
        ) from error
    return ImportReport(plan=plan, applied=True)


__all__ = [
    "FORMATS",
    "ImportConflictError",
    "ImportFileError",
    "ImportReport",
    "detect_format",
    "import_models",
    "max_import_bytes",
    "read_path",
    "read_source",
]
