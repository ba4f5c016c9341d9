"""Timing and reporting shared by every benchmark: best-of-N timings with untimed resets,
statement counts, and tables: a `Report` (one baseline and the ratios to it) or a `Table`
(any columns, one row per case, for results that are not one baseline and its ratios)."""

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
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


@dataclass(frozen=True)
class Operation:
    name: str
    rows: int
    action: Callable[[], object]
    reset: Callable[[], None]  # runs before every run, untimed
    check: Callable[[object], None]  # given what `action` returned, after every run, untimed


def measure(
    operation: str,
    rows: int,
    action: Callable[[], object],
    *,
    reset: Callable[[], None],
    check: Callable[[object], None],
    repeat: int,
    warm_up: bool = True,
) -> Measurement:
    """The best of `repeat` timed runs of `action` (see `measure_in_turn`)."""
    return measure_in_turn([Operation(operation, rows, action, reset, check)], repeat=repeat, warm_up=warm_up)[0]


def measure_in_turn(operations: list[Operation], *, repeat: int, warm_up: bool = True) -> list[Measurement]:
    """The best of `repeat` timed runs of each operation, after one untimed warm-up run
    that counts its SQL statements. The runs are taken in turn (a, b, a, b, ...), so that
    a slow spell on a shared machine slows every side of a comparison alike. `reset` and
    `check` run around every run, untimed: every run does the same real work.

    Without `warm_up` (for long operations, where a warm-up would double the time and
    change nothing), the statements are counted in the first timed run instead, by a
    wrapper that notes each statement's text and time: no query log, no SQL formatting."""
    queries: list[list[dict]] = [[] for _ in operations]
    capped = [False for _ in operations]
    if warm_up:
        for index, operation in enumerate(operations):
            operation.reset()
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                outcome = operation.action()
            queries[index] = captured.captured_queries  # read now: every request's start clears the log
            operation.check(outcome)
            capped[index] = len(connection.queries_log) == connection.queries_log.maxlen
    best = [math.inf for _ in operations]
    for run in range(repeat):
        for index, operation in enumerate(operations):
            operation.reset()
            noted = StatementNotes() if run == 0 and not warm_up else None
            with connection.execute_wrapper(noted) if noted else nullcontext():
                start = time.perf_counter()
                outcome = operation.action()
                best[index] = min(best[index], time.perf_counter() - start)
            operation.check(outcome)
            if noted:
                queries[index] = noted.queries
    return [
        Measurement(operation.name, operation.rows, seconds, repeat, len(found), was_capped, found)
        for operation, seconds, found, was_capped in zip(operations, best, queries, capped, strict=True)
    ]


class StatementNotes:
    """A `connection.execute_wrapper` that notes each statement's SQL text (without its
    parameters) and time, as Django's query log would."""

    def __init__(self):
        self.queries: list[dict] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append({"sql": sql, "time": f"{time.perf_counter() - start:.3f}"})


@dataclass
class Table:
    """Results with columns of their own (e.g. a ratio per case, or memory per size)."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)
    verdict: str = ""
    detailed: list[Measurement] = field(default_factory=list)  # whose statements `--breakdown` lists


def print_result(result: "Report | Table") -> None:
    if isinstance(result, Table):
        print_table(result)
    else:
        print_report(result)


def print_table(table: Table) -> None:
    print(f"\n{table.title}")
    _print_grid(table.headers, table.rows)
    for note in table.notes:
        print(f"  {note}")
    if table.verdict:
        print(f"\n{table.verdict}")


def _print_grid(headers: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [headers, *lines]) for i in range(len(headers))]
    for row in [headers, *lines]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells).rstrip())


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
    print(f"\n{report.title}")
    _print_grid(headers, lines)
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
