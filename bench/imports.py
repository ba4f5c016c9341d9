"""Importing into an empty registry, with validation, history and audit, side by side with
a raw insert of the same model rows.

Two files go through the product path, `read_path` + `import_models(source, actor=None,
skip_invalid=True)`: the real LiteLLM catalog (/work/shared/data: 4,877 models, plus the
`sample_spec` entry that describes the format) and a generated 20,000-row CSV in the
project's columns (`bench.import_files`). The limit each is measured against is the
fastest honest raw insert of the very rows the import left in the models table, without
history or audit: COPY on PostgreSQL, one prepared INSERT run by `executemany` on SQLite;
`bulk_create` of the same instances is shown for context. The CSV is then imported again:
every row unchanged, nothing written. Target: 20,000 CSV rows in at most 5 s on PostgreSQL.
"""

import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, transaction

import models_registry.importing as importing
from audit.models import AuditEntry
from bench.database import tidy
from bench.harness import Measurement, Report, Table, measure
from bench.import_files import GeneratedFile, write_models_csv
from bench.seeding import AUDITED_MODELS, REGISTRY_MODELS, empty_registry
from models_registry.folding import fold
from models_registry.importing import ImportReport, cycle_collector, import_models, read_path
from models_registry.importing.plan import INVALID, NEW, UNCHANGED, Planner
from models_registry.models import AIModel, ModelIndustryProfile, Provider, RegisteredName

CATALOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "litellm_model_catalog.json"
TARGET_ROWS, TARGET_SECONDS = 20_000, 5.0  # the target, on PostgreSQL
BULK_CREATE_BATCH = 1000  # as the import's own bulk_create
TABLES = [
    *(model._meta.db_table for model in REGISTRY_MODELS),
    *(model.history.model._meta.db_table for model in AUDITED_MODELS),
    AuditEntry._meta.db_table,
]


def run(options) -> list[Report | Table]:
    results: list[Report | Table] = []
    if CATALOG.exists():
        results.append(catalog_report(options))
    else:
        results.append(Table("LiteLLM catalog import", ("skipped",), [(f"{CATALOG} is not there",)]))
    with tempfile.TemporaryDirectory(prefix="llm_admin_bench_import-") as folder:
        generated = write_models_csv(Path(folder) / "models.csv", options.import_rows)
        results.append(csv_report(options, generated))
    return results


def catalog_report(options) -> Report:
    source = read_path(str(CATALOG))
    entries, aliases = len(source.rows), sum(1 for row in source.rows if row.alias_of is not None)
    phases: dict[str, float] = {}
    expected: dict[str, int] = {}
    outcome: dict[str, ImportReport] = {}

    def check(report: ImportReport) -> None:
        expect("import applied", report.applied, True)
        created = [row for row in report.plan.model_rows if row.kind == NEW]
        names = sum(len({fold(name) for name in row.model.all_names}) for row in created)
        expected.update(registry(models=len(created), providers=len(report.plan.new_providers), names=names))
        expect_counts(expected)
        outcome["last"] = report

    product = measure(
        "import_models (validation, history, audit)",
        entries,
        import_action(CATALOG, phases),
        reset=reset_registry,
        check=check,
        repeat=options.import_repeat,
        warm_up=False,
    )
    raw, bulk = raw_measurements(entries, expected["models"], options.import_repeat)
    title = f"Import the LiteLLM catalog ({entries:,} entries) into an empty registry"
    report = Report(title, entries, [raw, bulk, product], detailed=[product])
    report.notes = [
        *common_notes(options),
        f"The file: {CATALOG.name}, {CATALOG.stat().st_size / 2**20:.1f} MiB; {entries:,} entries: "
        f"{expected['models']:,} models created, {aliases:,} alias entries (names added to their models), "
        f"{outcome['last'].count(INVALID):,} invalid and skipped; {expected['providers']:,} providers created.",
        f"Checked after every import: {describe(expected)}.",
        phase_note(phases),
    ]
    report.verdict = (
        f"LiteLLM catalog import: {product.seconds:.2f}s, {report.ratio(product):.1f}x the raw insert "
        "(no target of its own; for the record)"
    )
    return report


def csv_report(options, generated: GeneratedFile) -> Report:
    rows = generated.rows
    expected = registry(
        models=rows, providers=generated.providers, profiles=generated.profiles, names=rows + generated.aliases
    )
    phases: dict[str, float] = {}

    def check(report: ImportReport) -> None:
        expect("import applied", report.applied, True)
        expect("rows created", report.count(NEW), rows)
        expect("rows invalid", report.count(INVALID), 0)
        expect_counts(expected)

    product = measure(
        "import_models (validation, history, audit)",
        rows,
        import_action(generated.path, phases),
        reset=reset_registry,
        check=check,
        repeat=options.import_repeat,
        warm_up=False,
    )
    product_phases = dict(phases)

    def check_again(report: ImportReport) -> None:
        expect("rows unchanged", report.count(UNCHANGED), rows)
        expect("rows created, updated or invalid", len(report.rows) - report.count(UNCHANGED), 0)
        expect_counts(expected)  # no model, history row or audit entry more

    again = measure(
        "re-import, every row unchanged",
        rows,
        import_action(generated.path, {}),
        reset=lambda: tidy(*TABLES),
        check=check_again,
        repeat=options.import_repeat,
        warm_up=False,
    )
    raw, bulk = raw_measurements(rows, rows, options.import_repeat)
    size_mb = generated.path.stat().st_size / 2**20
    report = Report(
        f"Import a generated CSV of {rows:,} models into an empty registry", rows, [raw, bulk, product, again]
    )
    report.detailed = [product, again]
    report.notes = [
        *common_notes(options),
        f"The file: {size_mb:.1f} MiB, {generated.providers} providers, 0-5 capabilities, decimal prices, "
        f"{generated.aliases:,} aliases, {generated.profiles:,} industry profiles (JSON), metadata (JSON) on all.",
        f"Checked after every import: {describe(expected)}.",
        "Checked after every re-import: every row reported unchanged, and those counts the same (nothing written).",
        phase_note(product_phases),
    ]
    seconds = product.seconds * TARGET_ROWS / rows
    line = (
        f"CSV import of {TARGET_ROWS:,} rows with validation and audit: {seconds:.2f}s"
        + ("" if rows == TARGET_ROWS else f" (scaled linearly from {rows:,} rows)")
        + f", {report.ratio(product):.1f}x the raw insert (target <= {TARGET_SECONDS:g}s on PostgreSQL)"
    )
    if connection.vendor != "postgresql":
        report.verdict = f"{line}: not judged on {connection.display_name}"
    else:
        report.verdict = f"{line}: {'MET' if seconds <= TARGET_SECONDS else 'MISSED'}"
    return report


def common_notes(options) -> list[str]:
    return [
        f"Imports and bulk_create: best of {options.import_repeat} timed run(s) without a warm-up (statements counted",
        "in the first timed run); the raw insert: best of 3 after a warm-up.",
        "Before every import and raw insert the registry is emptied (TRUNCATE on PostgreSQL), untimed.",
        "Timed import: read_path (read and parse the file) + import_models(actor=None, skip_invalid=True).",
        "Raw insert: the rows the import left in the models table, re-inserted as they are (same providers), no",
        "history, audit, registered names or profiles; COPY does not pass through Django's query log.",
    ]


def import_action(path: Path, phases: dict[str, float]) -> Callable[[], ImportReport]:
    def action() -> ImportReport:
        started = time.perf_counter()
        with cycle_collector.paused():  # as the import_models command runs it
            source = read_path(str(path))
            phases["read"] = time.perf_counter() - started
            with timed_phases(phases):
                report = import_models(source, actor=None, skip_invalid=True)
        phases["total"] = time.perf_counter() - started
        return report

    return action


@contextmanager
def timed_phases(phases: dict[str, float]):
    """Time `import_models`' two steps, validating (Planner.run, which writes the new models
    as their rows are validated) and writing the rest (apply_plan), by wrapping them: two
    clock reads each, nothing else changes."""
    run, apply_plan = Planner.run, importing.apply_plan

    def timed(phase, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[phase] = time.perf_counter() - started

        return wrapper

    phases.pop("apply", None)
    Planner.run, importing.apply_plan = timed("plan", run), timed("apply", apply_plan)
    try:
        yield
    finally:
        Planner.run, importing.apply_plan = run, apply_plan


def phase_note(phases: dict[str, float]) -> str:
    if not phases:
        return ""
    rest = phases["total"] - phases["read"] - phases["plan"] - phases.get("apply", 0.0)
    return (
        f"Where the last timed import spent its {phases['total']:.2f}s: reading the file {phases['read']:.2f}s, "
        f"validating, and writing the new models meanwhile (Planner.run) {phases['plan']:.2f}s, writing the rest "
        f"(apply_plan) {phases.get('apply', 0.0):.2f}s, linking the audit chain and committing {rest:.2f}s."
    )


def raw_measurements(rows: int, models: int, repeat: int) -> tuple[Measurement, Measurement]:
    """The raw insert and bulk_create of the rows now in the models table (left by the import)."""
    snapshot = ModelRows()
    check = counts_checker(registry(models=models, providers=snapshot.provider_count, names=0))
    name = "COPY (baseline)" if connection.vendor == "postgresql" else "executemany INSERT (baseline)"
    raw = measure(f"raw {name}", rows, snapshot.insert_raw, reset=snapshot.reset, check=check, repeat=max(repeat, 3))
    bulk = measure(
        "bulk_create of prepared instances",
        rows,
        snapshot.bulk_create,
        reset=snapshot.reset,
        check=check,
        repeat=repeat,
        warm_up=False,
    )
    return raw, bulk


class ModelRows:
    """The rows of the models table and of the providers table, as the database holds them,
    to insert them again: raw (COPY / executemany) or as instances (bulk_create)."""

    def __init__(self):
        self.columns = [field.column for field in AIModel._meta.concrete_fields if not field.primary_key]
        self.provider_columns = [field.column for field in Provider._meta.concrete_fields]
        with connection.cursor() as cursor:
            cursor.execute(self._select(AIModel, self.columns))
            self.rows = cursor.fetchall()
            cursor.execute(self._select(Provider, self.provider_columns))
            self.providers = cursor.fetchall()
        self.provider_count = len(self.providers)
        self.instances = list(AIModel.objects.order_by("pk"))

    @staticmethod
    def _select(model, columns: list[str]) -> str:
        quote = connection.ops.quote_name
        listed = ", ".join(quote(column) for column in columns)
        return f"SELECT {listed} FROM {quote(model._meta.db_table)} ORDER BY {quote('id')}"  # noqa: S608

    def reset(self) -> None:
        empty_registry()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(self._insert(Provider, self.provider_columns), self.providers)
        for instance in self.instances:
            instance.pk, instance._state.adding = None, True
        tidy(*TABLES)

    @staticmethod
    def _insert(model, columns: list[str]) -> str:
        quote = connection.ops.quote_name
        listed, placeholders = ", ".join(quote(column) for column in columns), ", ".join(["%s"] * len(columns))
        return f"INSERT INTO {quote(model._meta.db_table)} ({listed}) VALUES ({placeholders})"  # noqa: S608

    def insert_raw(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                quote = connection.ops.quote_name
                listed = ", ".join(quote(column) for column in self.columns)
                # psycopg's COPY: the rows stream in the text format, one statement.
                with cursor.cursor.copy(f"COPY {quote(AIModel._meta.db_table)} ({listed}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self._insert(AIModel, self.columns), self.rows)

    def bulk_create(self) -> None:
        with transaction.atomic():
            AIModel.objects.bulk_create(self.instances, batch_size=BULK_CREATE_BATCH)


def reset_registry() -> None:
    empty_registry()
    tidy(*TABLES)


def registry(*, models: int, providers: int, names: int, profiles: int = 0) -> dict[str, int]:
    """What an import into an empty registry leaves: its rows, one history row and one audit
    entry per row. (`names` counts only for the import; the raw insert writes none.)"""
    audited = models + providers + profiles
    return {
        "models": models,
        "model history rows": models,
        "model audit entries": models,
        "providers": providers,
        "provider history rows": providers,
        "provider audit entries": providers,
        "industry profiles": profiles,
        "profile history rows": profiles,
        "profile audit entries": profiles,
        "registered names": names,
        "audit entries in all": audited,
    }


def current_counts() -> dict[str, int]:
    entries = AuditEntry.objects.all()
    return {
        "models": AIModel.objects.count(),
        "model history rows": AIModel.history.model.objects.count(),
        "model audit entries": entries.filter(object_type="aimodel").count(),
        "providers": Provider.objects.count(),
        "provider history rows": Provider.history.model.objects.count(),
        "provider audit entries": entries.filter(object_type="provider").count(),
        "industry profiles": ModelIndustryProfile.objects.count(),
        "profile history rows": ModelIndustryProfile.history.model.objects.count(),
        "profile audit entries": entries.filter(object_type="modelindustryprofile").count(),
        "registered names": RegisteredName.objects.count(),
        "audit entries in all": entries.count(),
    }


def expect_counts(expected: dict[str, int]) -> None:
    actual = current_counts()
    wrong = {key: (actual[key], value) for key, value in expected.items() if actual[key] != value}
    if wrong:
        raise AssertionError("; ".join(f"{key}: {got:,}, expected {want:,}" for key, (got, want) in wrong.items()))


def counts_checker(expected: dict[str, int]) -> Callable[[object], None]:
    """After a raw insert: the model rows, the providers it started from, and nothing else."""
    raw = {key: 0 for key in expected} | {"models": expected["models"], "providers": expected["providers"]}
    return lambda outcome: expect_counts(raw)


def describe(expected: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {key}" for key, value in expected.items() if value)


def expect(what: str, actual, expected) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: {actual!r}, expected {expected!r}")
