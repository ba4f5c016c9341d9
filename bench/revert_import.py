"""Reverting a whole import: the generated CSV (`bench.import_files`, `--import-rows`, 20,000
by default) imported over a registry that holds its first half already, so that the import
updates half its rows (display name and context window) and creates the other half, then
its request reverted as one change through `models_registry.reverting.revert_request` (what
the API's `POST /api/v1/audit/requests/{request_id}/revert` calls), and the answer's
entries serialized as the API sends them. One timed run: a revert cannot be run twice.
Checked afterwards: the models as before the import, one revert entry per entry reverted.
"""

import csv
import tempfile
import time
from pathlib import Path

from audit.api.serializers import AuditEntrySerializer
from audit.context import change_context
from audit.models import AuditEntry
from bench.harness import Table
from bench.import_files import write_models_csv
from bench.imports import reset_registry
from models_registry.exporting import export_queryset, model_values
from models_registry.importing import import_models, read_path
from models_registry.models import AIModel
from models_registry.reverting import revert_request


def run(options) -> Table:
    reset_registry()
    with tempfile.TemporaryDirectory(prefix="llm_admin_bench_revert-") as folder:
        generated = write_models_csv(Path(folder) / "models.csv", options.import_rows)
        header, *rows = list(csv.reader(generated.path.open(encoding="utf-8", newline="")))
        half = len(rows) // 2
        seed, edited = Path(folder) / "seed.csv", Path(folder) / "edited.csv"
        write(seed, header, rows[:half])
        name, context = header.index("display_name"), header.index("context_window")
        write(edited, header, [changed(row, name, context) if i < half else row for i, row in enumerate(rows)])
        with change_context(request_id="bench-seed"):
            import_models(read_path(str(seed)), actor=None, skip_invalid=True)
        before = described()
        began = time.perf_counter()
        with change_context(request_id="bench-import"):
            report = import_models(read_path(str(edited)), actor=None, skip_invalid=True)
        imported_in = time.perf_counter() - began
    entries = AuditEntry.objects.filter(request_id="bench-import").count()

    began = time.perf_counter()
    written = revert_request(request_id="bench-import", actor=None)
    reverted_in = time.perf_counter() - began
    began = time.perf_counter()
    AuditEntrySerializer(written, many=True).data  # noqa: B018 (the answer's body, built as the API builds it)
    serialized_in = time.perf_counter() - began

    assert described() == before, "the registry is not as it was before the import"
    assert len(written) == entries, (len(written), entries)
    assert {entry.source for entry in written} == {"revert"}
    return Table(
        f"Revert a {len(rows):,}-row CSV import ({report.summary()})",
        ("step", "seconds"),
        [
            ("the import itself", f"{imported_in:.2f}"),
            (f"revert_request: plan, check, write back, delete ({entries:,} entries)", f"{reverted_in:.2f}"),
            (f"the API's answer: {len(written):,} entries serialized", f"{serialized_in:.2f}"),
        ],
        notes=["Checked: every model's described fields as before the import; one revert entry per entry."],
        verdict=f"Revert of a {len(rows):,}-row import: {reverted_in:.2f}s (+{serialized_in:.2f}s for the answer)",
    )


def changed(row: list[str], name: int, context: int) -> list[str]:
    row = list(row)
    row[name] = f"{row[name]} (edited)"
    row[context] = "64000"
    return row


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def described() -> dict:
    return {model.pk: model_values(model) for model in export_queryset(AIModel.objects.all())}
