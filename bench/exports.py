"""Streaming exports: memory stays flat however many models are exported.

`models_registry.exporting.write_csv/write_json/write_xlsx(queryset, stream)` write 1,000,
10,000 and 100,000 models (and 1,000,000 on PostgreSQL when seeding them is projected to
take under ~30 s) to a file. Each export runs in a fresh process (`bench.export_worker`),
whose peak resident memory (VmHWM, reset after a warm-up) is the honest measure: it counts
every allocation, C ones included (psycopg, the XML writer), which tracemalloc would not. The
growth of the peak over the warmed-up process is what the export itself needed. Target: the
peak at the largest size at most 1.5x the peak at the smallest, per format. XLSX goes
through openpyxl's write-only mode (openpyxl 3.1 writes strings inline, so no shared-strings
table grows with the rows): it is measured and reported like the others.
"""

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

from bench.harness import Table
from bench.seeding import SyntheticCatalog
from models_registry.models import AIModel
from models_registry.resources import COLUMNS

TITLE = "Streaming exports: peak memory (resident, of a fresh process per export) and time"
TARGET_RATIO = 1.5
FORMATS = ["csv", "json", "xlsx"]
SEED_CONTENTS = "36 providers, capabilities, prices, aliases, 2 industry profiles on every 10th model"
ROOT = Path(__file__).resolve().parent.parent
XLSX_SHEET = "xl/worksheets/sheet1.xml"
ROW_TAG = re.compile(rb"<row[ >]")


def run(options) -> Table:
    sizes = list(options.export_sizes)
    catalog = SyntheticCatalog()
    seeded = catalog.add(sizes[-1])
    notes = [f"Seeded {sizes[-1]:,} models set-based in SQL in {seeded:.1f}s ({SEED_CONTENTS})."]
    results = {}
    with tempfile.TemporaryDirectory(prefix="llm_admin_bench_export-") as folder:
        for size in sizes:
            for fmt in FORMATS:
                results[fmt, size] = export_once(fmt, size, Path(folder))
        large, formats, why = plan_large(options, sizes[-1], seeded, results)
        notes.append(why)
        if large:
            seconds = catalog.add(large - sizes[-1])
            notes.append(f"Seeded {large - sizes[-1]:,} more models (to {large:,}) in {seconds:.1f}s.")
            for fmt in formats:
                results[fmt, large] = export_once(fmt, large, Path(folder))
    return report(results, notes, sizes[0])


def plan_large(options, largest: int, seeded: float, results: dict) -> tuple[int, list[str], str]:
    """Whether to export --export-large models too (PostgreSQL only): when seeding them is
    projected to take under --export-seed-budget seconds and exporting them under
    --export-large-budget, both scaled linearly from the largest size done."""
    large = options.export_large
    formats = [fmt for fmt in options.export_large_formats.split(",") if fmt in FORMATS]
    if large <= largest or not formats:
        return 0, [], f"No export larger than {largest:,} models (--export-large)."
    if connection.vendor != "postgresql":
        return 0, [], f"{large:,} models: on PostgreSQL only."
    scale = (large - largest) / largest
    seeding = seeded * scale
    exporting = sum(results[fmt, largest]["seconds"] for fmt in formats) * large / largest
    if seeding > options.export_seed_budget or exporting > options.export_large_budget:
        return (
            0,
            [],
            f"{large:,} models: skipped; projected from {largest:,}: seeding {seeding:.0f}s "
            f"(budget {options.export_seed_budget:.0f}s, --export-seed-budget), exporting {', '.join(formats)} "
            f"{exporting:.0f}s (budget {options.export_large_budget:.0f}s, --export-large-budget).",
        )
    return large, formats, f"{large:,} models: {', '.join(formats)} (projected seeding {seeding:.0f}s)."


def export_once(fmt: str, size: int, folder: Path) -> dict:
    """Export the first `size` models (by id) in a fresh process; check the file; return
    what the worker measured, with the file's size."""
    last_id = AIModel.objects.order_by("pk").values_list("pk", flat=True)[size - 1]
    path = folder / f"models-{size}.{fmt}"
    command = [sys.executable, "-m", "bench.export_worker", fmt, str(last_id), str(path)]
    env = {**os.environ, "DATABASE_URL": database_url()}
    # This interpreter and our own module: nothing untrusted reaches the command line.
    process = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if process.returncode != 0:
        raise RuntimeError(f"export worker ({fmt}, {size:,}) failed:\n{process.stderr}")
    measured = json.loads(process.stdout.strip().splitlines()[-1])
    expect(f"{fmt} rows the writer reported", measured["count"], size)
    first_name = AIModel.objects.filter(pk__lte=last_id).order_by("name").values_list("name", flat=True).first()
    CHECKS[fmt](path, size, first_name)
    measured["file_mb"] = path.stat().st_size / 2**20
    path.unlink()
    return measured


def database_url() -> str:
    """The throwaway database this run works in, as a URL for the worker's settings."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))


def check_csv(path: Path, size: int, first_name: str) -> None:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream, strict=True)
        expect("csv header", next(reader), COLUMNS)
        first = next(reader)
        expect("csv first row's name", first[0], first_name)
        rows = 1 + sum(1 for row in reader if len(row) == len(COLUMNS))
    expect("csv rows with every column", rows, size)


def check_json(path: Path, size: int, first_name: str) -> None:
    objects, first, last = 0, None, None
    with path.open(encoding="utf-8") as stream:
        expect("json opening", stream.readline(), "[\n")
        for line in stream:
            if line.startswith("{"):
                objects += 1
                last = line
                first = first or line
    for line in (first, last):
        item = json.loads(line.rstrip().rstrip(","))
        expect("json keys", list(item), COLUMNS)
    expect("json first object's name", json.loads(first.rstrip().rstrip(","))["name"], first_name)
    expect("json objects", objects, size)


def check_xlsx(path: Path, size: int, first_name: str) -> None:
    rows, tail, head = 0, b"", b""
    with zipfile.ZipFile(path) as archive, archive.open(XLSX_SHEET) as sheet:
        while chunk := sheet.read(1 << 20):
            head = head or chunk
            data = tail + chunk
            rows += len(ROW_TAG.findall(data))
            tail = data[-4:]  # a tag cut in two is counted in the next round, never twice
            rows -= len(ROW_TAG.findall(tail))
        rows += len(ROW_TAG.findall(tail))
    expect("xlsx rows (with the header)", rows, size + 1)
    # openpyxl writes strings inline (no shared-strings table): the first model's name is near the top.
    expect("xlsx second row's first cell", f"<t>{first_name}</t>".encode() in head, True)


CHECKS = {"csv": check_csv, "json": check_json, "xlsx": check_xlsx}


def report(results: dict, notes: list[str], smallest: int) -> Table:
    headers = ("format", "models", "seconds", "models/s", "file MB", "base MB", "peak MB", "growth MB")
    rows = [
        (
            fmt,
            f"{size:,}",
            f"{r['seconds']:.2f}",
            f"{size / r['seconds']:,.0f}",
            f"{r['file_mb']:.1f}",
            f"{r['baseline_mb']:.0f}",
            f"{r['peak_mb']:.0f}",
            f"{r['peak_mb'] - r['baseline_mb']:.1f}",
        )
        for (fmt, size), r in sorted(results.items(), key=lambda item: (FORMATS.index(item[0][0]), item[0][1]))
    ]
    notes = [
        *notes,
        "Each export in a fresh process: base = resident memory after Django's setup and a 20-model warm-up export",
        "through the same writer; peak = the highest resident memory during the export (VmHWM, reset at base);",
        "growth = peak - base, what the export itself needed.",
        "Every file is checked afterwards: the row count, the header or keys, the first model's name.",
    ]
    verdicts = []
    for fmt in FORMATS:
        measured = sorted((size, r) for (f, size), r in results.items() if f == fmt)
        (small, low), (large, high) = measured[0], measured[-1]
        ratio = high["peak_mb"] / low["peak_mb"]
        growth_low, growth_high = low["peak_mb"] - low["baseline_mb"], high["peak_mb"] - high["baseline_mb"]
        trend = ""
        if len(measured) > 1:  # how the growth moves between the two largest sizes
            (middle, mid) = measured[-2]
            slope = (growth_high - (mid["peak_mb"] - mid["baseline_mb"])) / (large - middle) * 100_000
            trend = f", {slope:+.1f} MB per 100,000 more models between {middle:,} and {large:,}"
        verdicts.append(
            f"{fmt} export: peak {low['peak_mb']:.0f} MB at {small:,} -> {high['peak_mb']:.0f} MB at {large:,} models "
            f"= {ratio:.2f}x (target <= {TARGET_RATIO:g}x); the export's own growth {growth_low:.1f} -> "
            f"{growth_high:.1f} MB{trend}: {'MET' if ratio <= TARGET_RATIO else 'MISSED'}"
        )
    if not all(r["reset"] for r in results.values()):
        notes.append("(/proc/self/clear_refs was not writable: some peaks include the warm-up's.)")
    if smallest != 1000:
        notes.append(f"(smallest size {smallest:,}: --export-sizes)")
    return Table(TITLE, headers, rows, notes, "\n".join(verdicts))


def expect(what: str, actual, expected) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: {actual!r}, expected {expected!r}")
