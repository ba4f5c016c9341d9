"""Set-based audit writers for paths that skip model signals (bulk operations, imports).

The rule (STYLE.md): `QuerySet.update`, `bulk_create` and raw deletes are allowed only
where the same code writes the matching history rows and audit entries itself, in the
same transaction. These helpers do that in a constant number of statements, whatever
the number of rows: history rows are copied from the live rows by `INSERT ... SELECT`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connections, models, router
from django.db.models.functions import Cast

from audit.choices import ACTION_BY_HISTORY_TYPE, AuditAction
from audit.context import current_change
from audit.models import AuditEntry, audit_parent


@dataclass(frozen=True)
class ObjectChange:
    """One audit entry to write for one object."""

    object_id: object
    object_repr: str
    changes: Mapping
    parent_id: object = None  # the id of the object this one is a part of (see AUDIT_PARENT)


def _insert_select(target: type[models.Model], queryset: models.QuerySet, columns: Mapping) -> int:
    """INSERT INTO target (columns) SELECT <expressions> FROM queryset, as one statement."""
    aliases = {f"_col{index}": expression for index, expression in enumerate(columns.values())}
    select = queryset.order_by().annotate(**aliases).values_list(*aliases)
    sql, params = select.query.sql_with_params()
    target_columns = ", ".join(
        connections[select.db].ops.quote_name(target._meta.get_field(name).column) for name in columns
    )
    table = connections[select.db].ops.quote_name(target._meta.db_table)
    with connections[select.db].cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({target_columns}) {sql}", params)
        return cursor.rowcount


def insert_objects(objects: list[models.Model], *, key: tuple[str, ...] = ()) -> None:
    """Insert unsaved model instances as fast as the database allows: COPY on PostgreSQL
    (bulk_create there binds every value into array literals, which costs more than the
    insert itself), bulk_create elsewhere. With `key` (fields that identify a row, the
    first of them selective), the new ids are read back onto the instances."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objects, batch_size=2000)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            obj._prepare_related_fields_for_save(operation_name="insert_objects")  # as bulk_create does
            copy.write_row([field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields])
    if key:
        attnames = [model._meta.get_field(name).attname for name in key]
        wanted = {tuple(getattr(obj, name) for name in attnames): obj for obj in objects}
        first = sorted({k[0] for k in wanted}, key=str)
        for start in range(0, len(first), 5000):
            rows = model._base_manager.filter(**{f"{attnames[0]}__in": first[start : start + 5000]})
            for *values, pk in rows.values_list(*attnames, "pk"):
                obj = wanted.get(tuple(values))
                if obj is not None:
                    obj.pk, obj._state.adding = pk, False


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
    context = current_change()
    columns = {
        "timestamp": _constant(timestamp, models.DateTimeField()),
        "user_id": _constant(context.user_id, models.IntegerField()),
        "username": _constant(context.username, models.CharField()),
        "action": _constant(action, models.CharField()),
        "object_type": _constant(queryset.model._meta.model_name, models.CharField()),
        "object_id": Cast("pk", models.CharField()),
        "object_repr": models.F(object_repr),
        "parent_type": _constant("", models.CharField()),
        "parent_id": _constant("", models.CharField()),
        "changes": _constant(dict(changes), models.JSONField()),
        "reason": _constant(context.reason, models.TextField()),
        "source": _constant(context.source, models.CharField()),
        "request_id": _constant(context.request_id, models.CharField()),
    }
    return _insert_select(AuditEntry, queryset, columns)


def create_audit_entries(model: type[models.Model], history_type: str, objects: Iterable[ObjectChange], timestamp):
    """One audit entry per object, each with its own changes, in one bulk insert."""
    context = current_change()
    parent = audit_parent(model)
    parent_type = parent.related_model._meta.model_name if parent else ""
    entries = [
        AuditEntry(
            parent_type=parent_type,
            parent_id="" if change.parent_id is None else str(change.parent_id),
            timestamp=timestamp,
            user_id=context.user_id,
            username=context.username,
            action=ACTION_BY_HISTORY_TYPE[history_type],
            object_type=model._meta.model_name,
            object_id=str(change.object_id),
            object_repr=change.object_repr[:250],
            changes=dict(change.changes),
            reason=context.reason,
            source=context.source,
            request_id=context.request_id,
        )
        for change in objects
    ]
    insert_objects(entries)
    return len(entries)
