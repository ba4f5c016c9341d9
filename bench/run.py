"""`make bench`: the registry's bulk paths measured against raw SQL, per database backend.

Without DATABASE_URL this script runs itself once per backend: SQLite (a temporary file)
and, when it is reachable, the local PostgreSQL. With DATABASE_URL it measures that
backend only. Either way each run works in a throwaway database of its own (see
`bench.database`), never in the database the URL names.

    .venv/bin/python bench/run.py [--models N] [--reference-models N] [--repeat K] [--reference-repeat K] [--breakdown]
"""

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["bench.bulk_status"]  # modules with a `run(options) -> harness.Report`, run in this order
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
    return parser.parse_args(argv)


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
    from bench.harness import print_report, print_statements

    started = time.perf_counter()
    with throwaway_database() as where:
        print(f"\n=== {where} ===", flush=True)
        for module in BENCHMARKS:
            report = importlib.import_module(module).run(options)
            print_report(report)
            if options.breakdown:
                for measurement in report.detailed:
                    print_statements(measurement)
    print(f"\n({time.perf_counter() - started:.0f}s including seeding and migrations)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
