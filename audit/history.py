"""django-simple-history, made into the audit trail, and the diffs every door hands over.

`AuditedHistory` is `HistoricalRecords` with three differences:
- a save that changes nothing records nothing;
- every record is stamped from the current `ChangeContext` (user, door, request id, reason);
- what changed (`diff_against`, or a snapshot for a create or delete) goes to
  `audit.writer`, which writes the history row and its audit entry.

Set-based paths (bulk operations, imports) bypass model signals and hand their changes
to `audit.writer` themselves.
"""

import datetime
import decimal
import functools

from django.db import models
from simple_history.models import HistoricalRecords

from audit.context import current_change
from audit.models import AppendOnlyHistoricalQuerySet, HistoryStamp
from audit.writer import record_object_change
from common.decimals import decimal_text


def history_user(instance=None, request=None, **kwargs):
    return current_change().user


def natural_key(obj: models.Model) -> str:
    """How an audit diff names an object another one points at: its model's NATURAL_KEY
    field (a provider's slug, an industry's slug, a model's name). Unique, so a reader of
    the change events knows which object is meant; readable, and it outlives the row. A
    change to that field is a rename, which such a reader follows."""
    return getattr(obj, type(obj).NATURAL_KEY)


def json_value(field: models.Field, value):
    """A field's value as it appears in an audit diff: JSON-safe and readable; a related
    object by its natural key (the one place relations are rendered)."""
    if value is None:
        return None
    if field.is_relation:
        related = field.related_model._base_manager.filter(pk=value).first()
        return natural_key(related) if related is not None else f"#{value}"
    if isinstance(value, decimal.Decimal):
        return decimal_text(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


@functools.cache
def audited_fields(history_model) -> tuple[models.Field, ...]:
    """The fields a diff reports: the editable tracked ones (not timestamps or counters).
    Fixed when the history model is made, so worked out once per model (imports ask for
    every row)."""
    return tuple(field for field in history_model.tracked_fields if field.editable and not field.primary_key)


def field_value(record, field: models.Field):
    """`json_value` of a record's field, using a related object already loaded if there is one."""
    if field.is_relation and field.is_cached(record):
        related = getattr(record, field.name)
        return natural_key(related) if related is not None else None
    return json_value(field, getattr(record, field.attname))


def snapshot_changes(history_model, record, *, created: bool) -> dict:
    """Every audited field of `record` (a live or historical row) that has a value, as added or removed."""
    changes = {}
    for field in audited_fields(history_model):
        value = field_value(record, field)
        if value is None:
            continue
        changes[field.name] = {"old": None, "new": value} if created else {"old": value, "new": None}
    return changes


def diff_changes(record, previous) -> dict:
    delta = record.diff_against(previous, included_fields=[f.name for f in audited_fields(type(record))])
    changes = {}
    for change in delta.changes:
        field = type(record)._meta.get_field(change.field)
        changes[change.field] = {"old": json_value(field, change.old), "new": json_value(field, change.new)}
    return changes


class AuditedHistory(HistoricalRecords):
    """`as_of`: the table is read as of an instant (models_registry/as_of.py), so it gets the
    index that finds an object's newest row at or before one; `indexes`: more indexes on it
    (field names as on the model)."""

    def __init__(self, *, as_of: bool = False, indexes=(), **kwargs):
        self.as_of = as_of
        self.extra_indexes = tuple(indexes)
        kwargs.setdefault("bases", [HistoryStamp])
        # The user as a plain id: no foreign key that deleting a user would rewrite.
        kwargs.setdefault("history_user_id_field", models.IntegerField(null=True, blank=True))
        kwargs.setdefault("get_user", history_user)
        kwargs.setdefault("historical_queryset", AppendOnlyHistoricalQuerySet)
        super().__init__(**kwargs)

    def copy_fields(self, model):
        """The historical model's copies of `model`'s fields, with no index on its foreign
        keys: history is read by object id and date (both indexed), and by a related object
        only where `indexes` asks for it; every bulk change writes a row into each index."""
        fields = super().copy_fields(model)
        for field in fields.values():
            if isinstance(field, models.ForeignKey):
                field.db_index = False
        return fields

    def get_meta_options(self, model):
        options = super().get_meta_options(model)
        indexes = list(self.extra_indexes)
        if self.as_of:  # an object's newest row at or before an instant: one probe per object
            fields = [model._meta.pk.attname, "history_date", "history_id"]
            indexes.append(models.Index(fields=fields, name=f"hist_{model._meta.model_name[:19]}_as_of"))
        if indexes:
            options["indexes"] = indexes
        return options

    def get_change_reason_for_object(self, instance, history_type, using):
        return super().get_change_reason_for_object(instance, history_type, using) or current_change().reason

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if self.cls is sender:  # (simple-history's own check: the model this history is of)
            models.signals.pre_save.connect(self.pre_save, sender=sender, weak=False)

    def pre_save(self, instance, raw=False, **kwargs):
        """Before an update: what it will be compared with, kept on the instance until its
        record is written (after the save, when the row no longer shows the old values)."""
        if not raw and not instance._state.adding:
            instance._audit_previous = self._previous_record(instance)

    def _previous_record(self, instance):
        """The object as it is before this save: its newest history record, or, for an
        object whose history starts now (made by a migration, or written around the
        signals), its stored row, as a record."""
        history = getattr(instance, self.manager_name)
        previous = history.first()
        if previous is not None:
            return previous
        stored = type(instance)._base_manager.using(instance._state.db).filter(pk=instance.pk).first()
        return self._record_of(stored) if stored is not None else None

    def _record_of(self, instance):
        history = getattr(instance, self.manager_name)
        return history.model(**{f.attname: getattr(instance, f.attname) for f in self.fields_included(instance)})

    def create_historical_record(self, instance, history_type, using=None):
        record = self._record_of(instance)
        if history_type == "~":
            # Read before the save (pre_save); the newest record when saved without that signal.
            previous = instance.__dict__.pop("_audit_previous", None) or getattr(instance, self.manager_name).first()
            changes = (
                diff_changes(record, previous) if previous else snapshot_changes(type(record), record, created=True)
            )
            if not changes:
                return
        else:
            changes = snapshot_changes(type(record), record, created=history_type == "+")

        record_object_change(self, instance, history_type, changes, using=using)
