"""Set-based audit writers for paths that skip model signals (bulk operations, imports).

The rule (docs/architecture.md): `QuerySet.update`, `bulk_create` and raw deletes are allowed only
where the same code writes the matching history rows and audit entries itself, in the
same transaction. These helpers do that in a constant number of statements, whatever
the number of rows: history rows are copied from the live rows by `INSERT ... SELECT`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson
from django.db import connections, models, router
from django.db.models.functions import Cast

from audit.chain import chained_text_sql, entries_written
from audit.choices import ACTION_BY_HISTORY_TYPE, AuditAction
from audit.context import current_change
from audit.models import AuditEntry, audit_parent


@dataclass(frozen=True)
class ObjectChange:
    """One audit entry to write: the object (as it is now, or was just before its deletion)
    and what changed, {field: {"old", "new"}}."""

    obj: models.Model
    changes: Mapping


def event_type(model: type[models.Model], action: str, changes: Mapping) -> str:
    """The change event type of an entry (audit.choices.EventType), as the registry model
    names it; "" for a model that has none."""
    name_event = getattr(model, "change_event_type", None)
    return name_event(action, changes) if name_event else ""


def _related(obj: models.Model, field: models.ForeignKey) -> models.Model | None:
    """The object `field` of `obj` points at: the one loaded with it, else read (None when
    it is gone already, as in the middle of a cascade)."""
    if field.is_cached(obj):
        return field.get_cached_value(obj)
    return field.related_model._base_manager.filter(pk=getattr(obj, field.attname)).first()


def _provider_id(obj: models.Model) -> int | None:
    """The provider a change to `obj` concerns: its model's AUDIT_PROVIDER path followed."""
    *relations, attname = obj.AUDIT_PROVIDER.split("__")
    for name in relations:
        obj = _related(obj, obj._meta.get_field(name))
        if obj is None:
            return None
    return getattr(obj, attname)


def described(obj: models.Model) -> dict:
    """The columns of an audit entry that say which object changed: the object, the object
    it is a part of (AUDIT_PARENT), and the provider it concerns (AUDIT_PROVIDER)."""
    parent = audit_parent(type(obj))
    parent_object = _related(obj, parent) if parent else None
    return {
        "object_type": obj._meta.model_name,
        "object_id": str(obj.pk),
        "object_repr": str(obj)[:250],
        "parent_type": parent.related_model._meta.model_name if parent else "",
        "parent_id": str(getattr(obj, parent.attname)) if parent else "",
        "parent_repr": str(parent_object)[:250] if parent_object is not None else "",
        "provider_id": _provider_id(obj) if getattr(obj, "AUDIT_PROVIDER", None) else None,
    }


def _insert_select(target: type[models.Model], queryset: models.QuerySet, columns: Mapping, *, returning=()):
    """INSERT INTO target (columns) SELECT <expressions> FROM queryset, as one statement:
    the number of rows, or with `returning` (SQL expressions) the rows it returns."""
    aliases = {f"_col{index}": expression for index, expression in enumerate(columns.values())}
    select = queryset.order_by().annotate(**aliases).values_list(*aliases)
    sql, params = select.query.sql_with_params()
    target_columns = ", ".join(
        connections[select.db].ops.quote_name(target._meta.get_field(name).column) for name in columns
    )
    table = connections[select.db].ops.quote_name(target._meta.db_table)
    with connections[select.db].cursor() as cursor:
        if not returning:
            cursor.execute(f"INSERT INTO {table} ({target_columns}) {sql}", params)
            return cursor.rowcount
        cursor.execute(f"INSERT INTO {table} ({target_columns}) {sql} RETURNING {', '.join(returning)}", params)
        return cursor.fetchall()


def _chained_returning(connection) -> list[str]:
    """What an audit entry's INSERT returns for the chain: its id and, on PostgreSQL, its
    chained text (`audit.chain.chained_text_sql`), saving a read. SQLite reads back."""
    returning = [connection.ops.quote_name(AuditEntry._meta.pk.column)]
    return [*returning, chained_text_sql(connection)] if connection.vendor == "postgresql" else returning


# Fields whose value goes to PostgreSQL as it is (psycopg writes str, int, bool, date and
# datetime itself): preparing each value through the field costs more than the COPY.
AS_THEY_ARE = {
    models.AutoField, models.BigAutoField, models.BigIntegerField, models.BooleanField, models.CharField,
    models.DateField, models.DateTimeField, models.IntegerField, models.PositiveIntegerField, models.TextField,
}  # fmt: skip


def _json_text(value) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _preparer(field: models.Field, connection):
    """How one field's Python value becomes what COPY writes: as it is for plain types, as
    JSON text for JSON, through the field itself (`get_db_prep_save`) for anything else."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if type(target) in AS_THEY_ARE:
        return None
    if type(field) is models.JSONField and field.encoder is None:
        return _json_text
    return lambda value: field.get_db_prep_save(value, connection)


def insert_rows(
    model: type[models.Model], attnames: list[str], rows: list[tuple], *, using: str | None = None, new_ids=False
) -> list | None:
    """Insert rows of Python values, one per attname, as fast as the database allows:
    COPY on PostgreSQL (no model instance per row), bulk_create of instances elsewhere.
    With `new_ids`, the primary keys are the table's next ones, returned in row order."""
    if not rows:
        return [] if new_ids else None
    connection = connections[using or router.db_for_write(model)]
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model._base_manager.using(connection.alias).bulk_create(objects, batch_size=2000)
        return [obj.pk for obj in objects] if new_ids else None
    ids = None
    if new_ids:
        ids = _allocate_ids(model, len(rows), connection)
        attnames = [model._meta.pk.attname, *attnames]
        rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    fields = [by_attname[attname] for attname in attnames]
    preparers = [_preparer(field, connection) for field in fields]
    prepared = [(index, prepare) for index, prepare in enumerate(preparers) if prepare is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            if prepared:
                row = list(row)
                for index, prepare in prepared:
                    row[index] = prepare(row[index])
            copy.write_row(row)
    return ids


def _allocate_ids(model: type[models.Model], count: int, connection) -> list[int]:
    """`count` new primary keys, taken from the table's own sequence."""
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
        )
        return [row[0] for row in cursor.fetchall()]


def insert_objects(objects: list[models.Model]) -> None:
    """Insert unsaved model instances as fast as the database allows, and give each its id:
    on PostgreSQL ids taken from the table's sequence and the rows written by COPY
    (bulk_create there binds every value into array literals, which costs more than the
    insert itself); bulk_create elsewhere."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objects, batch_size=2000)
        return
    for obj, pk in zip(objects, _allocate_ids(model, len(objects), connection), strict=True):
        obj._prepare_related_fields_for_save(operation_name="insert_objects")  # as bulk_create does
        obj.pk = pk
    fields = model._meta.concrete_fields
    rows = [tuple(field.pre_save(obj, True) for field in fields) for obj in objects]
    insert_rows(model, [field.attname for field in fields], rows)
    for obj in objects:
        obj._state.adding = False


def _constant(value, field: models.Field):
    # An explicit cast: PostgreSQL types a bare literal in a SELECT list as text.
    return Cast(models.Value(value, output_field=field), output_field=field)


def insert_history_rows(queryset: models.QuerySet, *, history_type: str, timestamp) -> int:
    """Copy the current state of every row in `queryset` into its model's history table."""
    history_model = queryset.model.history.model
    context = current_change()
    columns = {field.attname: models.F(field.attname) for field in history_model.tracked_fields}
    columns |= {
        "history_date": _constant(timestamp, models.DateTimeField()),
        "history_type": _constant(history_type, models.CharField()),
        "history_change_reason": _constant(context.reason, models.TextField()),
        "history_user_id": _constant(context.user_id, models.IntegerField()),
        "history_source": _constant(context.source, models.CharField()),
        "history_request_id": _constant(context.request_id, models.CharField()),
        "history_username": _constant(context.username, models.CharField()),
    }
    return _insert_select(history_model, queryset, columns)


def insert_audit_entries(
    queryset: models.QuerySet, *, action: AuditAction, changes: Mapping, object_repr: str, timestamp
) -> int:
    """One audit entry per row of `queryset`, all with the same `changes` (e.g. a status move).

    `object_repr` names the field that represents a row (e.g. "name").
    """
    model = queryset.model
    if audit_parent(model) is not None:
        raise ValueError(
            f"{model._meta.label} is a part of another object: write its entries with create_audit_entries"
        )
    context = current_change()
    provider_path = getattr(model, "AUDIT_PROVIDER", None)
    columns = {
        "timestamp": _constant(timestamp, models.DateTimeField()),
        "user_id": _constant(context.user_id, models.IntegerField()),
        "username": _constant(context.username, models.CharField()),
        "action": _constant(action, models.CharField()),
        "object_type": _constant(model._meta.model_name, models.CharField()),
        "object_id": Cast("pk", models.CharField()),
        "object_repr": models.F(object_repr),
        "parent_type": _constant("", models.CharField()),
        "parent_id": _constant("", models.CharField()),
        "parent_repr": _constant("", models.CharField()),
        "changes": _constant(dict(changes), models.JSONField()),
        "reason": _constant(context.reason, models.TextField()),
        "source": _constant(context.source, models.CharField()),
        "request_id": _constant(context.request_id, models.CharField()),
        "event_type": _constant(event_type(model, action, changes), models.CharField()),
        "provider_id": models.F(provider_path) if provider_path else _constant(None, models.IntegerField()),
    }
    connection = connections[queryset.db]
    rows = _insert_select(AuditEntry, queryset, columns, returning=_chained_returning(connection))
    entries_written(rows if connection.vendor == "postgresql" else [row[0] for row in rows], using=queryset.db)
    return len(rows)


def create_audit_entries(model: type[models.Model], history_type: str, objects: Iterable[ObjectChange], timestamp):
    """One audit entry per object, each with its own changes, in one bulk insert."""
    context = current_change()
    action = ACTION_BY_HISTORY_TYPE[history_type]
    stamp = {
        "timestamp": timestamp,
        "user_id": context.user_id,
        "username": context.username,
        "action": action,
        "reason": context.reason,
        "source": context.source,
        "request_id": context.request_id,
    }
    entries = [
        stamp | described(change.obj) | {"changes": dict(change.changes)}
        | {"event_type": event_type(model, action, change.changes)}
        for change in objects
    ]  # fmt: skip
    attnames = list(entries[0]) if entries else []
    rows = [tuple(entry.values()) for entry in entries]
    entries_written(insert_rows(AuditEntry, attnames, rows, new_ids=True), using=router.db_for_write(AuditEntry))
    return len(rows)
