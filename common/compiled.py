"""Statements the busiest requests run with only one value changed (a token's key, a page's
ids), compiled from their QuerySet once per process instead of on every request."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from common import compat


@dataclass(frozen=True)
class _Compiled:
    compiler: Any  # the SQLCompiler that wrote `sql`
    sql: str
    params: tuple
    position: int  # of the parameter that changes
    names: tuple[str, ...]  # the dicts' keys, in the columns' order
    converters: dict  # compat.column_converters


class CompiledValues:
    """A `.values()` QuerySet compiled to SQL once, then run with another value in place of
    one of its parameters; the rows come back as iterating the QuerySet would give them
    (dicts, Django's converters applied).

    Django builds and compiles a QuerySet every time it runs one: for a statement of twenty
    columns, two joins and two subqueries that takes about as long as the database takes to
    run it (half a millisecond on PostgreSQL). The list endpoint runs the same statement for
    every page with other ids, and token authentication the same lookup with another key;
    compiling them once is a fifth of a list request's time (docs/benchmarks.md).

    `values_for(value)` builds the QuerySet for a value; `sample` is any value it accepts,
    used once to compile it; `parameter(value, vendor)` is the one parameter the QuerySet's
    filter sends for `value` (the value itself for a plain comparison). The compiled
    statement must hold exactly one parameter equal to `parameter(sample)`, or the first use
    fails loudly: the statement's text must not depend on the value (`__any` sends any
    number of values as one parameter for this reason).
    """

    def __init__(
        self,
        values_for: Callable[[Any], QuerySet],
        *,
        sample: Any,
        parameter: Callable[[Any, str], Any] = lambda value, vendor: value,
    ):
        self.values_for = values_for
        self.sample = sample
        self.parameter = parameter
        self._compiled: _Compiled | None = None

    def rows(self, value) -> list[dict]:
        compiled = self._compiled or self._compile()
        connection = connections[compiled.compiler.using]
        params = list(compiled.params)
        params[compiled.position] = self.parameter(value, connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        names = compiled.names
        converted = compat.converted_rows(compiled.compiler, fetched, compiled.converters)
        return [dict(zip(names, row, strict=True)) for row in converted]

    def _compile(self) -> _Compiled:
        queryset = self.values_for(self.sample)
        compiler = queryset.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        marker = self.parameter(self.sample, connections[queryset.db].vendor)
        positions = [index for index, param in enumerate(params) if param == marker]
        if len(positions) != 1:
            raise ValueError(f"The sample's parameter {marker!r} is at {len(positions)} places of {sql!r}, not one.")
        # Compiled twice over by threads that start at once: the same statement, either is kept.
        names, converters = compat.values_names(queryset), compat.column_converters(compiler)
        self._compiled = _Compiled(compiler, sql, tuple(params), positions[0], names, converters)
        return self._compiled
