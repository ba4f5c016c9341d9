"""The throwaway database a benchmark run works in, and keeping its tables comparable."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

# One per process, so that two runs on one server (a developer's beside CI's) never meet.
POSTGRES_DATABASE_NAME = f"llm_admin_bench_{os.getpid()}"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create and migrate a database of its own, and drop it afterwards: on PostgreSQL a
    fresh `llm_admin_bench_<pid>`, on SQLite a temporary file. The database that DATABASE_URL
    names is never touched. Yields a description of where the run happens."""
    tempdir = None
    if connection.vendor == "sqlite":
        tempdir = Path(tempfile.mkdtemp(prefix="llm_admin_bench-"))
        connection.settings_dict["TEST"]["NAME"] = str(tempdir / "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = POSTGRES_DATABASE_NAME
    try:
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield f"{describe_server()}, database {connection.settings_dict['NAME']}"
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)


def describe_server() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def tidy(*tables: str) -> None:
    """Reclaim dead rows (PostgreSQL) and refresh planner statistics, so that every timed
    run starts from the same table state instead of from the previous runs' bloat."""
    with connection.cursor() as cursor:
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"VACUUM ANALYZE {quoted}" if connection.vendor == "postgresql" else f"ANALYZE {quoted}")
