"""The audit log as CSV, streamed row by row (memory stays flat however long the log)."""

import csv
import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from audit.models import AuditEntry

AUDIT_CSV_COLUMNS = [
    "id",
    "timestamp",
    "user",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "reason",
    "source",
    "request_id",
]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


class _Echo:
    def write(self, value):
        return value


def audit_entry_row(entry: AuditEntry) -> list[str]:
    values = [
        entry.pk,
        entry.timestamp.isoformat(),
        entry.username,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        json.dumps(entry.changes, sort_keys=True, ensure_ascii=False),
        entry.reason,
        entry.source,
        entry.request_id,
    ]
    return [spreadsheet_safe(str(value)) for value in values]


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def audit_csv(entries: QuerySet) -> Iterator[str]:
    return csv_lines(AUDIT_CSV_COLUMNS, (audit_entry_row(e) for e in entries.iterator(chunk_size=2000)))
