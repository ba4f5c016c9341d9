"""Timing and reporting shared by every benchmark: best-of-N timings with untimed resets,
statement counts, and one table per benchmark."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Measurement:
    operation: str
    rows: int
    seconds: float  # the best of `repeat` timed runs
    repeat: int
    statements: int
    statements_capped: bool  # Django's query log filled up: `statements` is a lower bound
    queries: list[dict]  # the warm-up run's statements, each {"sql", "time"}


@dataclass
class Report:
    title: str
    rows: int  # the size the ratios are stated for
    measurements: list[Measurement]  # the first is the baseline of every ratio
    notes: list[str] = field(default_factory=list)
    verdict: str = ""
    detailed: list[Measurement] = field(default_factory=list)  # whose statements `--breakdown` lists

    @property
    def baseline(self) -> Measurement:
        return self.measurements[0]

    def seconds_at_size(self, measurement: Measurement) -> float:
        """Time for `rows` rows: measured, or scaled linearly from a smaller run."""
        return measurement.seconds * self.rows / measurement.rows

    def ratio(self, measurement: Measurement) -> float:
        return self.seconds_at_size(measurement) / self.seconds_at_size(self.baseline)


def measure(
    operation: str,
    rows: int,
    action: Callable[[], object],
    *,
    reset: Callable[[], None],
    check: Callable[[object], None],
    repeat: int,
) -> Measurement:
    """The best of `repeat` timed runs of `action`, after one untimed warm-up run that
    counts its SQL statements. `reset` runs before every run and `check` (given what
    `action` returned) after it, both untimed: every run does the same real work."""
    reset()
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        outcome = action()
    check(outcome)
    capped = len(connection.queries_log) == connection.queries_log.maxlen
    best = math.inf
    for _ in range(repeat):
        reset()
        start = time.perf_counter()
        outcome = action()
        best = min(best, time.perf_counter() - start)
        check(outcome)
    return Measurement(operation, rows, best, repeat, len(captured), capped, captured.captured_queries)


def print_report(report: Report) -> None:
    headers = ("operation", "rows", "seconds", f"s per {report.rows:,}", "x baseline", "statements")
    lines = [
        (
            m.operation,
            f"{m.rows:,}",
            f"{m.seconds:.3f}",
            f"{report.seconds_at_size(m):.3f}" + ("" if m.rows == report.rows else "*"),
            f"{report.ratio(m):.1f}x",
            f"{m.statements:,}" + ("+" if m.statements_capped else ""),
        )
        for m in report.measurements
    ]
    widths = [max(len(row[i]) for row in [headers, *lines]) for i in range(len(headers))]
    print(f"\n{report.title}")
    for row in [headers, *lines]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells))
    for note in report.notes:
        print(f"  {note}")
    if report.verdict:
        print(f"\n{report.verdict}")


def print_statements(measurement: Measurement, width: int = 110) -> None:
    """Each statement of a warm-up run with its time, longest first: where the time goes."""
    print(f"\nStatements of one run of {measurement.operation!r}, slowest first:")
    for query in sorted(measurement.queries, key=lambda q: float(q["time"]), reverse=True):
        sql = " ".join(query["sql"].split())
        print(f"  {float(query['time']):7.3f}s  {sql[:width]}{'...' if len(sql) > width else ''}")
