"""Bulk status change with full audit, side by side with a raw UPDATE of the same rows.

The issue: bulk paths are set-based. Changing the status of N models, with one history
row and one audit entry per model, takes a bounded number of statements and, on
PostgreSQL, at most 3x the time of a bare UPDATE of those rows. For context, the two
ways to write the same change without the bulk service: django-simple-history's
`bulk_update_with_history` (history rows, no audit entries) and a `save()` loop
(history row and audit entry per model, through the history signal).
"""

from django.db import connection, transaction
from simple_history.utils import bulk_update_with_history

from audit.choices import ChangeSource
from audit.models import AuditEntry
from bench.database import tidy
from bench.harness import Measurement, Report, measure
from bench.seeding import seed_models
from common.batches import batched
from models_registry.choices import BulkAction, ModelStatus
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply
from models_registry.services.bulk import CHUNK_SIZE, BulkResult
from models_registry.services.catalog import registry_write

TITLE = "Bulk status change with full audit"
TARGET_RATIO = 3.0  # the target, on PostgreSQL
START, TARGET = ModelStatus.ACTIVE, ModelStatus.DEPRECATED
BULK_UPDATE_BATCH_SIZE = 1000

HistoricalAIModel = AIModel.history.model


def run(options) -> Report:
    ids = seed_models(options.models)
    tidy(AIModel._meta.db_table, HistoricalAIModel._meta.db_table, AuditEntry._meta.db_table)
    count, references = len(ids), min(options.reference_models, len(ids))
    ledger = Ledger(ids)

    def timed(operation, change, targets, repeat, *, history: bool, audit: bool) -> Measurement:
        rows = len(targets)
        check = ledger.checker(rows, history=rows if history else 0, audit=rows if audit else 0)
        return measure(operation, rows, lambda: change(targets), reset=ledger.reset, check=check, repeat=repeat)

    every, some = (ids, options.repeat), (ids[:references], options.reference_repeat)
    raw = timed("raw SQL UPDATE (baseline)", raw_update, *every, history=False, audit=False)
    product = timed("aimodel_bulk_apply (full audit)", bulk_apply, *every, history=True, audit=True)
    library = timed("bulk_update_with_history (no audit)", simple_history_bulk_update, *some, history=True, audit=False)
    saves = timed("save() loop (history + audit)", save_loop, *some, history=True, audit=True)

    chunks = -(-count // CHUNK_SIZE)
    report = Report(TITLE, count, [raw, product, library, saves], detailed=[raw, product])
    report.notes = [
        f"Best of {options.repeat} timed run(s) ({options.reference_repeat} for the reference paths), each after an "
        "untimed warm-up run that counts the statements (BEGIN and COMMIT included).",
        "Before every run all models are set back to active through aimodel_bulk_apply; after it, the rows it moved",
        "and the history rows and audit entries it added are checked. Neither is timed.",
        f"Raw UPDATE: the status column only, {chunks} statement(s) of up to {CHUNK_SIZE:,} ids in one transaction"
        " (on PostgreSQL each chunk is one array parameter, as in the product path).",
        f"aimodel_bulk_apply: {product.statements} statements for {count:,} models in {chunks} chunk(s) of up to "
        f"{CHUNK_SIZE:,} ids, writing {count:,} history rows and {count:,} audit entries.",
    ]
    if references != count:
        report.notes.append(f"* ran on {references:,} of the {count:,} models; scaled linearly to {count:,}.")
    report.verdict = verdict(report.ratio(product))
    return report


def verdict(ratio: float) -> str:
    line = f"bulk status change with audit: {ratio:.1f}x raw UPDATE (target <= {TARGET_RATIO:g}x on PostgreSQL)"
    if connection.vendor != "postgresql":
        return f"{line}: not judged on {connection.display_name}"
    return f"{line}: {'MET' if ratio <= TARGET_RATIO else 'MISSED'}"


def raw_update(ids: list[int]) -> None:
    """The fastest plain UPDATE of the same rows: on PostgreSQL each chunk of ids is one
    array parameter (`= ANY(%s)`), as the product path sends it; elsewhere an IN list."""
    quote = connection.ops.quote_name
    table, status, pk = quote(AIModel._meta.db_table), quote("status"), quote("id")
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in batched(ids, CHUNK_SIZE):
            # Only quoted identifiers and placeholders are interpolated; the values are parameters.
            if connection.vendor == "postgresql":
                cursor.execute(f"UPDATE {table} SET {status} = %s WHERE {pk} = ANY(%s)", [TARGET.value, list(chunk)])  # noqa: S608
            else:
                placeholders = ", ".join(["%s"] * len(chunk))
                sql = f"UPDATE {table} SET {status} = %s WHERE {pk} IN ({placeholders})"  # noqa: S608
                cursor.execute(sql, [TARGET.value, *chunk])


def bulk_apply(ids: list[int]) -> BulkResult:
    return aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=ids, actor=None)


def simple_history_bulk_update(ids: list[int]) -> None:
    with registry_write(actor=None, source=ChangeSource.BULK):
        models = load(ids)
        for model in models:
            model.status = TARGET
        bulk_update_with_history(models, AIModel, ["status"], batch_size=BULK_UPDATE_BATCH_SIZE)


def save_loop(ids: list[int]) -> None:
    with registry_write(actor=None, source=ChangeSource.BULK):
        for model in load(ids):
            model.status = TARGET
            model.save()


def load(ids: list[int]) -> list[AIModel]:
    return [model for chunk in batched(ids, CHUNK_SIZE) for model in AIModel.objects.filter(pk__in=chunk)]


class Ledger:
    """Puts every model back to the start status before a run, and afterwards checks
    that the run did exactly its work: rows moved, history rows and audit entries added."""

    def __init__(self, ids: list[int]):
        self.ids = ids
        self.last_history_id = self.last_audit_id = 0

    def reset(self) -> None:
        # Through the service, so each model's newest history row agrees with the live row
        # (a save() diffs against it and records nothing when they already match).
        aimodel_bulk_apply(action=BulkAction.ACTIVATE, ids=self.ids, actor=None, reason="benchmark reset")
        tidy(AIModel._meta.db_table)
        self.last_history_id = newest(HistoricalAIModel, "history_id")
        self.last_audit_id = newest(AuditEntry, "id")

    def checker(self, rows: int, *, history: int, audit: int):
        def check(outcome) -> None:
            if isinstance(outcome, BulkResult):
                expect("models the service changed", sum(r.ok and not r.unchanged for r in outcome.results), rows)
            expect("models now deprecated", AIModel.objects.filter(status=TARGET).count(), rows)
            added = HistoricalAIModel.objects.filter(history_id__gt=self.last_history_id)
            expect("history rows added", added.count(), history)
            expect("of them, updates to deprecated", added.filter(history_type="~", status=TARGET).count(), history)
            entries = AuditEntry.objects.filter(id__gt=self.last_audit_id)
            expect("audit entries added", entries.count(), audit)
            moves = entries.filter(object_type="aimodel", changes__status__old=START, changes__status__new=TARGET)
            expect("of them, active -> deprecated", moves.count(), audit)

        return check


def newest(model, field: str) -> int:
    return model.objects.order_by(f"-{field}").values_list(field, flat=True).first() or 0


def expect(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: {actual}, expected {expected}")
