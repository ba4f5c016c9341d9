"""The audit trail: every change is stamped with who, which door, which request and why;
a diff of exactly what changed; rows that outlive users and objects and cannot be
changed or removed; and a catalog version that moves with every committed write."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from audit.choices import AuditAction, ChangeSource, SecurityEventType
from audit.context import change_context
from audit.models import AppendOnlyError, AuditEntry, SecurityEvent
from audit.security import record_security_event
from audit.tests.factories import AuditEntryFactory
from models_registry.choices import BulkAction, ModelStatus
from models_registry.models import AIModel, ModelDependency, Provider
from models_registry.services import (
    HasDependenciesError,
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    catalog_version,
    dependency_register,
    dependency_unregister,
    reference_save,
)
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory

HistoricalAIModel = AIModel.history.model

pytestmark = pytest.mark.django_db


def entries_for(instance) -> list[AuditEntry]:
    """The audit entries of one object, oldest first."""
    rows = AuditEntry.objects.filter(object_type=instance._meta.model_name, object_id=str(instance.pk))
    return list(rows.order_by("timestamp", "id"))


def entry_stamp(entry: AuditEntry) -> dict:
    return {
        "user_id": entry.user_id,
        "username": entry.username,
        "source": entry.source,
        "request_id": entry.request_id,
        "reason": entry.reason,
    }


def history_stamp(record) -> dict:
    return {
        "user_id": record.history_user_id,
        "username": record.history_username,
        "source": record.history_source,
        "request_id": record.history_request_id,
        "reason": record.history_change_reason,
    }


# --- Every door stamps the user, the source, the request id and the reason ---------------


def test_a_change_under_an_open_context_is_stamped_with_its_user_source_request_and_reason(make_user):
    user = make_user("admin")

    with change_context(source=ChangeSource.CLI, request_id="r1", actor=user, reason="nightly sync"):
        provider = ProviderFactory(slug="acme")

    expected = {
        "user_id": user.pk,
        "username": user.username,
        "source": "cli",
        "request_id": "r1",
        "reason": "nightly sync",
    }
    [entry] = entries_for(provider)
    [record] = provider.history.all()
    assert entry.action == AuditAction.CREATE
    assert entry_stamp(entry) == expected
    assert history_stamp(record) == expected
    assert record.history_date == entry.timestamp


def test_a_service_call_inside_a_cli_run_keeps_the_run_door_and_request_id(make_user):
    user = make_user("admin")
    model = AIModelFactory()

    with change_context(source=ChangeSource.CLI, request_id="r1", actor=user):
        aimodel_update(model=model, actor=user, reason="price change", input_cost_per_million_tokens="1.25")

    expected = {
        "user_id": user.pk,
        "username": user.username,
        "source": "cli",
        "request_id": "r1",
        "reason": "price change",
    }
    entry = entries_for(model)[-1]
    record = model.history.latest("history_date", "history_id")
    assert entry.changes == {"input_cost_per_million_tokens": {"old": None, "new": "1.25"}}
    assert entry_stamp(entry) == expected
    assert history_stamp(record) == expected


def test_a_service_call_stamps_its_actor_and_reason_inside_the_request_context(make_user):
    user = make_user("editor")
    provider = ProviderFactory(slug="acme")

    with change_context(source=ChangeSource.API, request_id="req-api-7"):
        model = aimodel_create(actor=user, reason="onboarding", name="gpt-4o", provider=provider)

    expected = {
        "user_id": user.pk,
        "username": user.username,
        "source": "api",
        "request_id": "req-api-7",
        "reason": "onboarding",
    }
    [entry] = entries_for(model)
    [record] = model.history.all()
    assert entry_stamp(entry) == expected
    assert history_stamp(record) == expected
    assert AIModel.objects.get(pk=model.pk).created_by == user.username


@pytest.mark.parametrize("action", [BulkAction.DEPRECATE, BulkAction.DELETE])
def test_a_bulk_operation_stamps_every_entry_and_history_row_it_writes_itself(make_user, action):
    user = make_user("admin")
    models = [AIModelFactory(), AIModelFactory()]

    with change_context(source=ChangeSource.API, request_id="req-bulk-1"):
        result = aimodel_bulk_apply(action=action, ids=[m.pk for m in models], actor=user, reason="cleanup")

    assert result.succeeded == 2
    expected = {
        "user_id": user.pk,
        "username": user.username,
        "source": "bulk",
        "request_id": "req-bulk-1",
        "reason": "cleanup",
    }
    for model in models:
        entry = entries_for(model)[-1]
        record = HistoricalAIModel.objects.filter(id=model.pk).latest("history_date", "history_id")
        assert entry.action == (AuditAction.DELETE if action == BulkAction.DELETE else AuditAction.UPDATE)
        assert entry.object_repr == model.name
        assert entry_stamp(entry) == expected
        assert history_stamp(record) == expected
        assert record.history_type == ("-" if action == BulkAction.DELETE else "~")


# --- Exactly what changed, and nothing when nothing did ----------------------------------


def test_an_update_that_changes_nothing_writes_no_entry_and_no_history(make_user):
    model = AIModelFactory(display_name="GPT 4o", context_window=128_000, input_cost_per_million_tokens="2.5")
    entries, records = AuditEntry.objects.count(), HistoricalAIModel.objects.count()

    aimodel_update(
        model=model,
        actor=make_user("editor"),
        display_name="GPT 4o",
        context_window=128_000,
        input_cost_per_million_tokens=Decimal("2.5000"),
    )

    assert AuditEntry.objects.count() == entries
    assert HistoricalAIModel.objects.count() == records
    assert AIModel.objects.get(pk=model.pk).version == 1


def test_saving_an_unchanged_provider_writes_no_entry_and_no_history(make_user):
    provider = ProviderFactory(slug="acme", name="Acme")
    entries, records = AuditEntry.objects.count(), provider.history.count()

    reference_save(instance=Provider.objects.get(pk=provider.pk), actor=make_user("admin"))

    assert AuditEntry.objects.count() == entries
    assert provider.history.count() == records


def test_an_update_of_one_field_writes_one_entry_with_exactly_that_change(make_user):
    model = AIModelFactory(display_name="Old name")

    aimodel_update(model=model, actor=make_user("editor"), display_name="New name")

    create, update = entries_for(model)
    assert create.action == AuditAction.CREATE
    assert update.action == AuditAction.UPDATE
    assert update.changes == {"display_name": {"old": "Old name", "new": "New name"}}
    assert [r.history_type for r in model.history.order_by("history_date", "history_id")] == ["+", "~"]
    assert model.history.latest("history_date", "history_id").display_name == "New name"


def test_a_changed_cost_is_recorded_as_plain_decimal_strings(make_user):
    model = AIModelFactory(input_cost_per_million_tokens=Decimal("2.5"))

    aimodel_update(model=model, actor=make_user("editor"), input_cost_per_million_tokens="0.0046875")

    assert entries_for(model)[-1].changes == {"input_cost_per_million_tokens": {"old": "2.5", "new": "0.0046875"}}


def test_a_changed_provider_and_date_are_recorded_as_slug_and_iso_date(make_user):
    model = AIModelFactory(provider=ProviderFactory(slug="acme"))

    aimodel_update(
        model=model,
        actor=make_user("editor"),
        provider=ProviderFactory(slug="bedrock_converse"),
        deprecation_date=date(2026, 1, 31),
        input_cost_per_million_tokens=Decimal("0"),
    )

    assert entries_for(model)[-1].changes == {
        "provider": {"old": "acme", "new": "bedrock_converse"},
        "deprecation_date": {"old": None, "new": "2026-01-31"},
        "input_cost_per_million_tokens": {"old": None, "new": "0"},
    }


def test_a_create_entry_lists_the_set_fields_as_new_values(make_user):
    provider = ProviderFactory(slug="acme")

    model = aimodel_create(
        actor=make_user("editor"),
        name="gpt-4o",
        provider=provider,
        context_window=128_000,
        input_cost_per_million_tokens=Decimal("2.50"),
        output_cost_per_million_tokens="10.000",
        capabilities=["vision", "function_calling"],
    )

    [entry] = entries_for(model)
    assert entry.action == AuditAction.CREATE
    assert entry.object_repr == "gpt-4o"
    assert entry.changes["name"] == {"old": None, "new": "gpt-4o"}
    assert entry.changes["provider"] == {"old": None, "new": "acme"}
    assert entry.changes["context_window"] == {"old": None, "new": 128_000}
    assert entry.changes["input_cost_per_million_tokens"] == {"old": None, "new": "2.5"}
    assert entry.changes["output_cost_per_million_tokens"] == {"old": None, "new": "10"}
    assert entry.changes["capabilities"] == {"old": None, "new": ["function_calling", "vision"]}
    assert entry.changes["status"] == {"old": None, "new": "active"}
    # Unset fields are not reported, nor are the bookkeeping columns.
    assert not {"max_output_tokens", "deprecation_date", "successor"} & entry.changes.keys()
    assert not {"id", "version", "created_at", "updated_at", "created_by", "updated_by"} & entry.changes.keys()


def test_a_delete_entry_lists_the_last_values_as_old_values(make_user):
    provider = ProviderFactory(slug="acme")
    model = AIModelFactory(
        name="gpt-4o", provider=provider, input_cost_per_million_tokens=Decimal("2.5"), status=ModelStatus.DEPRECATED
    )

    aimodel_delete(model=model, actor=make_user("admin"), reason="retired")

    entry = entries_for(model)[-1]
    assert entry.action == AuditAction.DELETE
    assert entry.object_repr == "gpt-4o"
    assert entry.reason == "retired"
    assert entry.changes["name"] == {"old": "gpt-4o", "new": None}
    assert entry.changes["provider"] == {"old": "acme", "new": None}
    assert entry.changes["input_cost_per_million_tokens"] == {"old": "2.5", "new": None}
    assert entry.changes["status"] == {"old": "deprecated", "new": None}
    assert "output_cost_per_million_tokens" not in entry.changes


# --- Log rows outlive what they describe -------------------------------------------------


def test_audit_rows_survive_the_deletion_of_the_user_who_made_them(make_user):
    user = make_user("editor", username="departed")
    model = AIModelFactory(actor=user)
    aimodel_update(model=model, actor=user, display_name="Changed")
    user_id = user.pk

    get_user_model().objects.filter(pk=user_id).delete()

    entries = entries_for(model)
    assert [(e.action, e.username, e.user_id) for e in entries] == [
        ("create", "departed", user_id),
        ("update", "departed", user_id),
    ]
    records = model.history.order_by("history_date", "history_id")
    assert [(r.history_type, r.history_username, r.history_user_id) for r in records] == [
        ("+", "departed", user_id),
        ("~", "departed", user_id),
    ]


def test_audit_rows_survive_the_deletion_of_the_object(make_user):
    model = AIModelFactory(name="short-lived")
    model_id = model.pk

    aimodel_delete(model=model, actor=make_user("admin"))

    assert not AIModel.objects.filter(pk=model_id).exists()
    entries = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model_id)).order_by("timestamp", "id")
    assert [(e.action, e.object_repr) for e in entries] == [("create", "short-lived"), ("delete", "short-lived")]
    records = HistoricalAIModel.objects.filter(id=model_id).order_by("history_date", "history_id")
    assert [(r.history_type, r.name) for r in records] == [("+", "short-lived"), ("-", "short-lived")]


# --- Append-only in the ORM --------------------------------------------------------------


def make_audit_entry():
    return AuditEntryFactory(username="someone")


def make_security_event():
    # An event that is never counted into an earlier row, so each call makes a new row (the
    # counted rows have tests of their own in test_security_log_aggregation.py).
    row_id = record_security_event(SecurityEventType.TOKEN_REVOKED, username="someone")
    return SecurityEvent.objects.get(pk=row_id)


def make_history_record():
    return AIModelFactory().history.get()


# Each kind of log row, the field that names who, and how to make one.
LOG_ROWS = {
    "audit entry": (AuditEntry, "username", make_audit_entry),
    "security event": (SecurityEvent, "username", make_security_event),
    "model history": (HistoricalAIModel, "history_username", make_history_record),
}


@pytest.mark.parametrize("kind", LOG_ROWS)
def test_saving_a_changed_log_row_is_refused(kind):
    model, field, make = LOG_ROWS[kind]
    row = make()
    original = getattr(row, field)
    setattr(row, field, "tampered")

    with pytest.raises(AppendOnlyError):
        row.save()

    assert getattr(model._base_manager.get(pk=row.pk), field) == original


@pytest.mark.parametrize("kind", LOG_ROWS)
def test_deleting_a_log_row_is_refused(kind):
    model, _, make = LOG_ROWS[kind]
    row = make()

    with pytest.raises(AppendOnlyError):
        row.delete()

    assert model._base_manager.filter(pk=row.pk).exists()


# Every public queryset over each log table: its default manager and, for history, the
# manager simple-history puts on the tracked model.
LOG_QUERYSETS = {
    "AuditEntry.objects": (AuditEntry, "username", make_audit_entry, lambda: AuditEntry.objects.all()),
    "SecurityEvent.objects": (SecurityEvent, "username", make_security_event, lambda: SecurityEvent.objects.all()),
    "AIModel.history": (HistoricalAIModel, "history_username", make_history_record, lambda: AIModel.history.all()),
    "HistoricalAIModel.objects": (
        HistoricalAIModel,
        "history_username",
        make_history_record,
        lambda: HistoricalAIModel.objects.all(),
    ),
}


@pytest.mark.parametrize("queryset", LOG_QUERYSETS)
def test_updating_log_rows_through_a_queryset_is_refused(queryset):
    model, field, make, rows = LOG_QUERYSETS[queryset]
    row = make()

    with pytest.raises(AppendOnlyError):
        rows().filter(pk=row.pk).update(**{field: "tampered"})

    assert getattr(model._base_manager.get(pk=row.pk), field) == getattr(row, field)


@pytest.mark.parametrize("queryset", LOG_QUERYSETS)
def test_deleting_log_rows_through_a_queryset_is_refused(queryset):
    model, _, make, rows = LOG_QUERYSETS[queryset]
    row = make()

    with pytest.raises(AppendOnlyError):
        rows().filter(pk=row.pk).delete()

    assert model._base_manager.filter(pk=row.pk).exists()


# --- Append-only in the database (PostgreSQL) ---------------------------------------------


def run_sql(sql: str, params=()) -> int:
    """One statement in its own savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def table_and_key(model) -> tuple[str, str]:
    """The quoted table name and primary key column of `model`: identifiers, never values."""
    return connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(model._meta.pk.column)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", LOG_ROWS)
def test_postgres_refuses_a_raw_update_of_a_log_row(kind):
    model, field, make = LOG_ROWS[kind]
    row = make()
    table, key = table_and_key(model)
    column = connection.ops.quote_name(model._meta.get_field(field).column)

    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(f"UPDATE {table} SET {column} = 'tampered' WHERE {key} = %s", [row.pk])  # noqa: S608

    assert getattr(model._base_manager.get(pk=row.pk), field) == getattr(row, field)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", LOG_ROWS)
def test_postgres_refuses_a_raw_delete_of_a_log_row(kind):
    model, _, make = LOG_ROWS[kind]
    row = make()
    table, key = table_and_key(model)

    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(f"DELETE FROM {table} WHERE {key} = %s", [row.pk])  # noqa: S608

    assert model._base_manager.filter(pk=row.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize("kind", LOG_ROWS)
def test_postgres_accepts_a_raw_insert_into_a_log_table(kind):
    model, _, make = LOG_ROWS[kind]
    row = make()
    table, key = table_and_key(model)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields if not f.primary_key)

    # A copy of the row under a new id.
    copy = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE {key} = %s"  # noqa: S608
    inserted = run_sql(copy, [row.pk])

    assert inserted == 1
    assert model._base_manager.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", LOG_ROWS)
def test_postgres_allows_a_delete_only_inside_a_retention_transaction(kind):
    model, _, make = LOG_ROWS[kind]
    expired, kept = make(), make()
    table, key = table_and_key(model)
    delete = f"DELETE FROM {table} WHERE {key} = %s"  # noqa: S608

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL llm_admin.retention = 'on'")
        cursor.execute(delete, [expired.pk])

    assert not model._base_manager.filter(pk=expired.pk).exists()
    # SET LOCAL ended with its transaction: the next delete is refused again.
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(delete, [kept.pk])
    assert model._base_manager.filter(pk=kept.pk).exists()


# --- The catalog version moves with every committed write ---------------------------------


def write_create(model, actor):
    aimodel_create(actor=actor, name="brand-new", provider=model.provider)


def write_update(model, actor):
    aimodel_update(model=model, actor=actor, display_name="Renamed")


def write_delete(model, actor):
    aimodel_delete(model=model, actor=actor)


def write_bulk_status(model, actor):
    aimodel_bulk_apply(action=BulkAction.DEACTIVATE, ids=[model.pk], actor=actor)


def write_bulk_delete(model, actor):
    aimodel_bulk_apply(action=BulkAction.DELETE, ids=[model.pk], actor=actor)


def write_dependency_register(model, actor):
    dependency_register(model=model, component_type="agent", component_id="a-1", actor=actor)


def write_dependency_unregister(model, actor):
    dependency_unregister(dependency=ModelDependencyFactory(model=model), actor=actor)


def write_provider_save(model, actor):
    provider = model.provider
    provider.name = "Renamed provider"
    reference_save(instance=provider, actor=actor)


# What each write leaves behind, read back from the database.
WRITES = {
    "create": (write_create, lambda model: AIModel.objects.filter(name="brand-new").exists()),
    "update": (write_update, lambda model: AIModel.objects.get(pk=model.pk).display_name == "Renamed"),
    "delete": (write_delete, lambda model: not AIModel.objects.filter(pk=model.pk).exists()),
    "bulk status": (write_bulk_status, lambda model: AIModel.objects.get(pk=model.pk).status == "inactive"),
    "bulk delete": (write_bulk_delete, lambda model: not AIModel.objects.filter(pk=model.pk).exists()),
    "dependency register": (write_dependency_register, lambda model: model.dependencies.count() == 1),
    "dependency unregister": (write_dependency_unregister, lambda model: model.dependencies.count() == 0),
    "provider save": (
        write_provider_save,
        lambda model: Provider.objects.get(pk=model.provider_id).name == "Renamed provider",
    ),
}


@pytest.mark.parametrize("write", WRITES)
def test_the_catalog_version_increases_after_each_kind_of_write(make_user, write):
    perform, took_effect = WRITES[write]
    actor = make_user("admin")
    model = AIModelFactory()
    before = catalog_version()

    perform(model, actor)

    assert took_effect(model)
    assert catalog_version() > before


def test_a_refused_write_leaves_the_catalog_version_alone(make_user):
    dependency = ModelDependencyFactory()
    before = catalog_version()

    with pytest.raises(HasDependenciesError):
        aimodel_delete(model=dependency.model, actor=make_user("admin"))

    assert catalog_version() == before
    assert ModelDependency.objects.filter(pk=dependency.pk).exists()
