"""`make bench`: the registry's bulk paths measured against raw SQL, per database backend.

Without DATABASE_URL this script runs itself once per backend: SQLite (a temporary file)
and, when it is reachable, the local PostgreSQL. With DATABASE_URL it measures that
backend only. Either way each run works in a throwaway database of its own (see
`bench.database`), never in the database the URL names.

    .venv/bin/python bench/run.py [--only NAME ...] [--breakdown] [size options, see --help]

Smaller sizes for a quick look, e.g.:
    .venv/bin/python bench/run.py --models 2000 --import-rows 5000 --export-sizes 1000,10000 --export-large 0 \
        --list-models 20000
"""

import argparse
import importlib
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules with a `run(options)` returning a `harness.Report` or `harness.Table` (or a list of
# them), run in this order.
BENCHMARKS = [
    "bench.bulk_status",
    "bench.imports",
    "bench.revert_import",
    "bench.exports",
    "bench.list_api",
    "bench.as_of",
    "bench.hung_cache",
    "bench.settings_validation",
    "bench.change_feed",
    "bench.webhooks",
    "bench.scale",  # only with --scale N
]
LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# The URL only picks the backend; the run itself creates a temporary file.
SQLITE_URL = "sqlite://:memory:"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=positive, default=10_000, help="models to seed and change (10,000)")
    parser.add_argument(
        "--reference-models",
        type=positive,
        default=2_000,
        help="models the slow reference paths (bulk_update_with_history, save() loop) change; scaled up (2,000)",
    )
    parser.add_argument("--repeat", type=positive, default=5, help="timed runs per operation; the best counts (5)")
    parser.add_argument("--reference-repeat", type=positive, default=2, help="timed runs of the reference paths (2)")
    parser.add_argument("--breakdown", action="store_true", help="list the statements of the set-based paths")
    parser.add_argument(
        "--only",
        action="append",
        choices=[module.removeprefix("bench.") for module in BENCHMARKS],
        help="run only this benchmark (repeatable); all of them by default",
    )
    parser.add_argument("--import-rows", type=positive, default=20_000, help="rows of the generated CSV (20,000)")
    parser.add_argument(
        "--import-repeat",
        type=positive,
        default=3,
        help="timed runs per import, the best counts; imports take no warm-up run (3)",
    )
    parser.add_argument(
        "--export-sizes",
        type=sizes,
        default=[1_000, 10_000, 100_000],
        help="comma-separated numbers of models to export (1000,10000,100000)",
    )
    parser.add_argument(
        "--export-large",
        type=int,
        default=1_000_000,
        help="one more export size, on PostgreSQL only, when seeding and exporting it are projected to take "
        "under --export-seed-budget and --export-large-budget seconds; 0 skips it (1,000,000)",
    )
    parser.add_argument("--export-seed-budget", type=float, default=30.0, help="seconds (30)")
    parser.add_argument(
        "--export-large-budget",
        type=float,
        default=120.0,
        help="seconds the --export-large exports may be projected to take, together (120)",
    )
    parser.add_argument(
        "--export-large-formats",
        default="csv,json",
        help="formats exported at --export-large (csv,json; xlsx takes minutes at a million rows)",
    )
    parser.add_argument("--list-models", type=positive, default=100_000, help="models behind the list API (100,000)")
    parser.add_argument("--requests", type=positive, default=30, help="timed requests per list API case (30)")
    parser.add_argument(
        "--feed-events", type=positive, default=20_000, help="events one client reads from the change feed (20,000)"
    )
    parser.add_argument("--webhook-rate", type=positive, default=100, help="changes per second, webhooks (100)")
    parser.add_argument(
        "--webhook-seconds", type=positive, default=60, help="seconds of changes at that rate, webhooks (60)"
    )
    parser.add_argument(
        "--webhook-batch",
        type=positive,
        default=10,
        help="models changed per registry write, webhooks (10: a bulk status change; 1: aimodel_update)",
    )
    parser.add_argument("--webhook-subscribers", type=positive, default=10, help="webhook subscribers (10)")
    parser.add_argument("--webhook-workers", type=positive, default=2, help="run_worker processes (2)")
    parser.add_argument(
        "--webhook-down-seconds",
        type=positive,
        default=60,
        help="seconds one subscriber is down, then back (60; the issue's case is 600)",
    )
    parser.add_argument("--webhook-down-rate", type=positive, default=10, help="changes per second meanwhile (10)")
    parser.add_argument(
        "--scale",
        type=positive,
        default=None,
        help="the scale scenario with this many models and ten times as many audit entries (off by "
        "default; issue 12 asks 1000000 on PostgreSQL, 100000 on SQLite; seeding takes minutes)",
    )
    parser.add_argument("--scale-requests", type=positive, default=20, help="timed requests per scale case (20)")
    return parser.parse_args(argv)


def sizes(text: str) -> list[int]:
    values = sorted({int(part) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("give positive numbers, e.g. 1000,100000")
    return values


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    if os.environ.get("DATABASE_URL"):
        return run_here(options)
    return run_each_backend(argv)


def run_each_backend(argv: list[str]) -> int:
    backends = [("SQLite", SQLITE_URL)]
    if postgres_reachable(LOCAL_POSTGRES_URL):
        backends.append(("PostgreSQL", LOCAL_POSTGRES_URL))
    failed = []
    for name, url in backends:
        sys.stdout.flush()
        command = [sys.executable, str(Path(__file__).resolve()), *argv]
        # This same script with this interpreter: nothing untrusted reaches the command line.
        process = subprocess.run(command, env={**os.environ, "DATABASE_URL": url}, check=False)  # noqa: S603
        if process.returncode != 0:
            failed.append(name)
    if len(backends) == 1:
        print(f"\nPostgreSQL: skipped, nothing answers at {LOCAL_POSTGRES_URL} (or set DATABASE_URL=postgres://...).")
    if failed:
        print(f"\nFAILED on {', '.join(failed)}: see the errors above.", file=sys.stderr)
        return 1
    return 0


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def run_here(options: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llm_admin.test_settings")
    import django

    django.setup()

    from bench.database import throwaway_database
    from bench.harness import print_result, print_statements

    started, failed = time.perf_counter(), []
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    selected = [module for module in BENCHMARKS if not options.only or module.removeprefix("bench.") in options.only]
    with throwaway_database() as where:
        print(f"\n=== {where} ===\n(load average {load} on {os.cpu_count()} CPUs)", flush=True)
        for module in selected:
            began = time.perf_counter()
            try:
                outcome = importlib.import_module(module).run(options)
            except Exception:  # one broken benchmark must not hide the others' results
                traceback.print_exc()
                print(f"\n{module}: ERROR (see the traceback above)", flush=True)
                failed.append(module)
                continue
            for result in outcome if isinstance(outcome, list) else [outcome]:
                print_result(result)
                if options.breakdown:
                    for measurement in result.detailed:
                        print_statements(measurement)
            print(f"  ({module}: {time.perf_counter() - began:.0f}s with seeding and checks)", flush=True)
    print(f"\n({time.perf_counter() - started:.0f}s including seeding and migrations)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
