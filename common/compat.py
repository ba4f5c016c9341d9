"""Every private API of Django or a library that the code still relies on, in one place.

Each function names the private API it wraps and the behaviour the callers rely on;
common/tests/test_compat.py pins that behaviour, so that an upgrade which changes it fails
there, by name, instead of somewhere downstream (or silently). The test file also pins the
one private hook overridden in place (ModelForm._update_errors, in the registry's admin
forms), which a wrapper cannot hold.
"""

import datetime
from collections.abc import Iterator

from django.core.handlers.wsgi import WSGIRequest
from django.db import models
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import SimpleLazyObject, empty
from jsonschema.protocols import Validator
from simple_history.models import HistoricalRecords


def raw_delete(queryset: models.QuerySet) -> int:
    """Delete the rows of `queryset` in one `DELETE` statement and return how many went:
    no signals, no collection of related rows, and no `QuerySet.delete()` override (the log
    models refuse `delete()`, on purpose). For the set-based paths, which write the history
    those deletes would have written themselves. Django's `QuerySet._raw_delete`."""
    return queryset._raw_delete(queryset.db)


def prepare_related_fields_for_save(obj: models.Model, *, operation_name: str) -> None:
    """What `bulk_create` does to each object before inserting it, for inserts done without
    it (COPY): each foreign key takes the id of the object assigned to it if that was saved
    after the assignment, and an object pointing at an unsaved one is refused (ValueError
    naming `operation_name`). Django's `Model._prepare_related_fields_for_save`."""
    obj._prepare_related_fields_for_save(operation_name=operation_name)


def save_history_record(
    history: HistoricalRecords, instance: models.Model, history_type: str, *, at: datetime.datetime, using=None
) -> None:
    """django-simple-history's own historical record of `instance` ("+", "~" or "-"), dated
    `at`: `HistoricalRecords.create_historical_record` called unbound, so that a subclass
    that overrides it to see every change (audit.history.AuditedHistory) still has the row
    written as simple-history writes it, with the date it reads from `instance._history_date`."""
    instance._history_date = at
    try:
        HistoricalRecords.create_historical_record(history, instance, history_type, using=using)
    finally:
        del instance._history_date


def jsonschema_resolve(validator: Validator, reference: str) -> Validator:
    """`validator` moved to the schema `reference` (a `$ref` or `$dynamicRef`) points at,
    resolved where `validator` stands, as jsonschema's own `$ref` keyword resolves it. The
    `referencing` resolver behind it is private: jsonschema's `Validator._resolver`, and the
    `_resolver` argument of `evolve`."""
    resolved = validator._resolver.lookup(reference)
    return validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)


def lazy_object_evaluated(value: SimpleLazyObject) -> bool:
    """Whether a lazy object (Django's `request.user`) was evaluated already: looking at it
    any other way evaluates it. Django's `LazyObject._wrapped`, `empty` until then."""
    return value._wrapped is not empty


def replace_request_stream(request: WSGIRequest, stream) -> None:
    """Make `request.body` (and the POST parsing) read from `stream`: what Django reads the
    body from is `WSGIRequest._stream`, set in its constructor."""
    request._stream = stream


def column_converters(compiler: SQLCompiler) -> dict:
    """What turns each column of `compiler`'s SQL (compiled: `as_sql()` sets its columns up)
    into the Python value iterating the QuerySet gives: {column index: (converters, its
    expression)}, only the columns that have any (dates on SQLite, fields' `from_db_value`).
    Django's `SQLCompiler.get_converters` over `SQLCompiler.select`."""
    return compiler.get_converters([column[0] for column in compiler.select[0 : compiler.col_count]])


def converted_rows(compiler: SQLCompiler, rows: list[tuple], converters: dict) -> Iterator:
    """`rows` fetched by running `compiler`'s SQL, each value through its column's
    `converters` (`column_converters`). Django's `SQLCompiler.apply_converters`."""
    return compiler.apply_converters(rows, converters) if converters else iter(rows)


def values_names(queryset: models.QuerySet) -> tuple[str, ...]:
    """The keys of the dicts a `.values()` QuerySet gives, in the order of its columns: what
    Django's `ValuesIterable` reads from `Query.selected`, or, when that is unset, from the
    extra, values and annotation selects."""
    query = queryset.query
    if query.selected:
        return tuple(query.selected)
    return (*query.extra_select, *query.values_select, *query.annotation_select)
