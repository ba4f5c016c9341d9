"""Importing models from files: read (readers), check (plan), write (apply).

source = read_path("catalog.json")            # or read_source(name, bytes, fmt)
report = import_models(source, actor=user, dry_run=False, skip_invalid=False)
print(report.summary())                       # created=N updated=N unchanged=N invalid=N
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit.choices import ChangeSource
from models_registry.importing.apply import apply_plan
from models_registry.importing.plan import (
    INVALID,
    NEW,
    UNCHANGED,
    UPDATE,
    ImportPlan,
    RowPlan,
    no_progress,
    plan_import,
)
from models_registry.importing.readers import FORMATS, detect_format, max_import_bytes, read_path, read_source
from models_registry.importing.source import ImportFileError, SourceFile
from models_registry.services.catalog import registry_write


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
    """Apply every valid row, or (by default) nothing at all when any row is invalid."""
    reason = f"import {source.name}: {reason}" if reason else f"import {source.name}"
    try:
        with transaction.atomic():
            plan = plan_import(source, progress)
            refused = any(row.kind == INVALID for row in plan.rows) and not skip_invalid
            applied = not dry_run and not refused
            if applied and plan.has_changes:
                with registry_write(actor=actor, reason=reason, source=ChangeSource.IMPORT):
                    apply_plan(plan, actor=actor)
    except IntegrityError as error:
        raise ImportConflictError(
            "The registry changed while importing (a name or alias was taken meanwhile); nothing was applied. "
            "Run the import again."
        ) from error
    return ImportReport(plan=plan, applied=applied)


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
