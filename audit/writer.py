"""The one writer of change records.

Services work out what changed (the object, the action, old -> new for each field: see
`audit.history` for the diffs) and hand it here. This module alone writes what a change
leaves behind, in the caller's transaction: the history row (django-simple-history's
table), the audit entry, which is also the change event (`audit.events`), and the report
to the audit chain (`audit.chain.entries_written`), which links the entry in commit order.
Per object for saves through model signals (`record_object_change`), set-based for bulk
operations and imports (`record_changes`, `record_same_change`), and for the log's own
housekeeping (`record_log_entry`). Anything that must react to every change reads what
this module writes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connections, models, router
from django.db.models.functions import Cast
from django.utils import timezone
from simple_history.models import HistoricalRecords

from audit.bulk import insert_rows, insert_select
from audit.chain import chained_text_sql, entries_written
from audit.choices import ACTION_BY_HISTORY_TYPE, HISTORY_TYPE_BY_ACTION, AuditAction
from audit.context import current_change
from audit.models import AuditEntry, audit_parent
from common.batches import batched
from common.compat import save_history_record


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


def record_object_change(
    history: HistoricalRecords, instance: models.Model, history_type: str, changes: Mapping, *, using=None
) -> None:
    """The records of one object's change, saved or deleted through the ORM (its history
    signal): simple-history's row for it, and its audit entry, at one time."""
    timestamp = timezone.now()  # the record and its entry share one time
    save_history_record(history, instance, history_type, at=timestamp, using=using)
    entry = AuditEntry.objects.create(**_entry(instance, ACTION_BY_HISTORY_TYPE[history_type], changes, timestamp))
    entries_written([entry.pk], using=entry._state.db)


def record_changes(model: type[models.Model], history_type: str, changes: list[ObjectChange], timestamp) -> None:
    """The records of many objects' changes, each its own (an import, a bulk delete), set-based:
    history rows copied from the rows as they are now (for a deletion: call it before the
    rows go) and one audit entry per object."""
    for chunk in batched([change.obj.pk for change in changes]):
        _history_rows(model._base_manager.filter(pk__any=chunk), history_type, timestamp)
    _entries(history_type, changes, timestamp)


def record_log_entry(*, action: str, object_type: str, object_id: str, object_repr: str, changes: Mapping) -> None:
    """An audit entry about the log itself (a retention run): no registry object, no event."""
    about = {"object_type": object_type, "object_id": object_id, "object_repr": object_repr, "changes": changes}
    entry = AuditEntry.objects.create(**_stamp(action, timezone.now()), **about)
    entries_written([entry.pk], using=entry._state.db)


def record_same_change(
    queryset: models.QuerySet, *, action: AuditAction, changes: Mapping, object_repr: str, timestamp
) -> int:
    """The records of one change made to every row of `queryset` alike (a bulk status
    move), after it was made: a history row copied from each row as it is now, and one
    audit entry each with the same `changes`, in a constant number of statements.
    `object_repr` names the field that names a row (e.g. "name"). Returns the rows."""
    model = queryset.model
    if audit_parent(model) is not None:
        raise ValueError(f"{model._meta.label} is a part of another object: record its changes with record_changes")
    provider_path = getattr(model, "AUDIT_PROVIDER", None)
    constants = _stamp(action, timestamp) | {
        "object_type": model._meta.model_name,
        "parent_type": "",
        "parent_id": "",
        "parent_repr": "",
        "changes": dict(changes),
        "event_type": event_type(model, action, changes),
    }
    columns = {name: _constant(value, AuditEntry._meta.get_field(name)) for name, value in constants.items()}
    columns |= {
        "object_id": Cast("pk", models.CharField()),
        "object_repr": models.F(object_repr),
        "provider_id": models.F(provider_path) if provider_path else _constant(None, models.IntegerField()),
    }
    connection = connections[queryset.db]
    rows = insert_select(AuditEntry, queryset, columns, returning=_chained_returning(connection))
    entries_written(rows if connection.vendor == "postgresql" else [row[0] for row in rows], using=queryset.db)
    _history_rows(queryset, HISTORY_TYPE_BY_ACTION[action], timestamp)
    return len(rows)


def _history_rows(queryset: models.QuerySet, history_type: str, timestamp) -> int:
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
    return insert_select(history_model, queryset, columns)


def _chained_returning(connection) -> list[str]:
    """What an audit entry's INSERT returns for the chain: its id and, on PostgreSQL, its
    chained text (`audit.chain.chained_text_sql`), saving a read. SQLite reads back."""
    returning = [connection.ops.quote_name(AuditEntry._meta.pk.column)]
    return [*returning, chained_text_sql(connection)] if connection.vendor == "postgresql" else returning


def _constant(value, field: models.Field):
    # An explicit cast: PostgreSQL types a bare literal in a SELECT list as text.
    return Cast(models.Value(value, output_field=field), output_field=field)


def _stamp(action: str, timestamp) -> dict:
    """What every audit entry takes from the current change context."""
    context = current_change()
    return {
        "timestamp": timestamp,
        "user_id": context.user_id,
        "username": context.username,
        "action": action,
        "reason": context.reason,
        "source": context.source,
        "request_id": context.request_id,
    }


def _entry(obj: models.Model, action: str, changes: Mapping, timestamp) -> dict:
    """The columns of the audit entry (and change event) of one object's change."""
    event = {"event_type": event_type(type(obj), action, changes), "changes": dict(changes)}
    return _stamp(action, timestamp) | described(obj) | event


def _entries(history_type: str, objects: Iterable[ObjectChange], timestamp) -> int:
    """One audit entry per object, each with its own changes, in one bulk insert."""
    action = ACTION_BY_HISTORY_TYPE[history_type]
    entries = [_entry(change.obj, action, change.changes, timestamp) for change in objects]
    attnames = list(entries[0]) if entries else []
    rows = [tuple(entry.values()) for entry in entries]
    entries_written(insert_rows(AuditEntry, attnames, rows, new_ids=True), using=router.db_for_write(AuditEntry))
    return len(rows)
