"""Set-based SQL for many rows at once: `INSERT ... SELECT`, COPY, ids taken from a
sequence, chunks of ids. The bulk paths (`audit.writer`, the importer) write through
these in a constant number of statements per chunk, whatever the number of rows.
"""

from collections.abc import Mapping
from operator import attrgetter

import orjson
from django.db import connections, models, router

from common.batches import batched
from common.compat import prepare_related_fields_for_save


def insert_select(target: type[models.Model], queryset: models.QuerySet, columns: Mapping, *, returning=()):
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


ROWS_PER_UPDATE = 1000  # with up to 30 columns, within SQLite's 32,766 parameters


def update_objects(objects: list[models.Model], attnames: list[str]) -> None:
    """Write the `attnames` of saved instances, as they are, in one statement per thousand:
    `WITH v AS (VALUES ...) UPDATE ... FROM v` (PostgreSQL, SQLite 3.33+). Django's
    `bulk_update` builds a CASE per field and row, which costs more in Python than the
    update in the database (seconds per thousand rows)."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    fields = [model._meta.pk, *(by_attname[attname] for attname in attnames)]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":  # VALUES are typed by their first row: each says its type
        placeholders = [f"%s::{field.db_type(connection)}" for field in fields]
    else:
        placeholders = ["%s"] * len(fields)
    row_sql = f"({', '.join(placeholders)})"
    names = [quote(f"c{index}") for index in range(len(fields))]
    assignments = ", ".join(
        f"{quote(field.column)} = v.{name}" for field, name in zip(fields[1:], names[1:], strict=True)
    )
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    for obj in objects:
        prepare_related_fields_for_save(obj, operation_name="update_objects")  # as bulk_update does
    with connection.cursor() as cursor:
        for chunk in batched(objects, ROWS_PER_UPDATE):
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in chunk for field in fields
            ]
            values = ", ".join([row_sql] * len(chunk))
            sql = f"WITH v ({', '.join(names)}) AS (VALUES {values}) UPDATE {table} SET {assignments} FROM v"  # noqa: S608 (names from the model, values as parameters)
            cursor.execute(f"{sql} WHERE {table}.{pk} = v.{names[0]}", params)


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
        prepare_related_fields_for_save(obj, operation_name="insert_objects")  # as bulk_create does
        obj.pk = pk
    # Each value as `pre_save` gives it (an auto_now date, a derived text), read at once
    # where pre_save is Field's own, which only reads the attribute: one call per row for
    # all of those, not one per field.
    plain = [field for field in model._meta.concrete_fields if type(field).pre_save is models.Field.pre_save]
    computed = [field for field in model._meta.concrete_fields if field not in plain]
    read_plain = attrgetter(*(field.attname for field in plain)) if len(plain) > 1 else _one_value(plain)
    rows = [(*read_plain(obj), *(field.pre_save(obj, True) for field in computed)) for obj in objects]
    insert_rows(model, [field.attname for field in [*plain, *computed]], rows)
    for obj in objects:
        obj._state.adding = False


def _one_value(fields: list[models.Field]):
    """What attrgetter gives for several fields, a tuple, for one field or none."""
    return lambda obj: tuple(getattr(obj, field.attname) for field in fields)
