"""The audit log is tamper-evident: every entry is chained to the one before by a keyed
hash, whatever wrote it (a per-object save, a bulk operation, an import, retention), and
`verify_audit_log` names the first entry changed, removed or inserted out of band, even
when the change was made straight in the database by a superuser (issue 10, item 7)."""

import datetime
import importlib
import io
import json
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from audit.append_only import install_append_only_triggers
from audit.chain import CHAINED_FIELDS
from audit.models import AuditChainHead, AuditEntry, AuditLink
from audit.retention import prune_history
from audit.tests.factories import AuditEntryFactory
from models_registry.choices import BulkAction
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_create, aimodel_delete, aimodel_update
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


def verify() -> tuple[int, dict]:
    """(exit status, the JSON report) of `manage.py verify_audit_log --format json`."""
    stdout = io.StringIO()
    try:
        call_command("verify_audit_log", "--format", "json", stdout=stdout)
        status = 0
    except CommandError as error:
        status = error.returncode
    return status, json.loads(stdout.getvalue())


def first_problem(report: dict) -> tuple[str, int | None]:
    problem = report["problems"][0]
    return problem["kind"], problem["entry_id"]


def some_registry_writes() -> list[AIModel]:
    provider = ProviderFactory(slug="acme")
    models = [aimodel_create(actor=None, name=f"m-{n}", provider=provider) for n in range(3)]
    aimodel_update(model=models[0], actor=None, display_name="Renamed")
    return models


@contextmanager
def guard_lifted(*models):
    """As a database superuser would: on PostgreSQL with the append-only triggers switched off."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models:
                cursor.execute(f"ALTER TABLE {connection.ops.quote_name(model._meta.db_table)} DISABLE TRIGGER USER")
        yield cursor
    install_append_only_triggers()


def tamper(sql: str, params=()) -> None:
    with guard_lifted(AuditEntry) as cursor:
        cursor.execute(sql, params)


def test_an_untouched_log_verifies_and_every_entry_has_one_link():
    some_registry_writes()

    status, report = verify()

    assert (status, report["intact"], report["problems"]) == (0, True, [])
    assert report["checked"] == AuditEntry.objects.count() == AuditLink.objects.count() > 0
    assert set(AuditLink.objects.values_list("entry_id", flat=True)) == set(
        AuditEntry.objects.values_list("pk", flat=True)
    )
    positions = list(AuditLink.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, len(positions) + 1))


def test_the_text_report_says_intact_and_exits_0():
    some_registry_writes()
    stdout = io.StringIO()

    call_command("verify_audit_log", stdout=stdout)

    assert stdout.getvalue().strip().endswith(": intact")


def test_an_entry_whose_changes_were_edited_is_named_as_changed():
    models = some_registry_writes()
    target = AuditEntry.objects.filter(object_id=str(models[1].pk)).get()
    table = connection.ops.quote_name(AuditEntry._meta.db_table)

    tamper(f"UPDATE {table} SET changes = %s WHERE id = %s", ['{"name": {"old": null, "new": "forged"}}', target.pk])  # noqa: S608

    status, report = verify()
    assert status == 1
    assert first_problem(report) == ("changed", target.pk)
    assert report["problem_count"] == 1


def test_an_entry_whose_user_was_edited_is_named_too():
    models = some_registry_writes()
    target = AuditEntry.objects.filter(object_id=str(models[0].pk)).order_by("pk").last()
    table = connection.ops.quote_name(AuditEntry._meta.db_table)

    tamper(f"UPDATE {table} SET username = 'someone-else' WHERE id = %s", [target.pk])  # noqa: S608

    status, report = verify()
    assert (status, first_problem(report)) == (1, ("changed", target.pk))


FORGED_VALUES = {
    "timestamp": "timestamp + interval '1 microsecond'",  # the smallest change a timestamp can take
    "user_id": "4242",
    "username": "'someone-else'",
    "action": "'delete'",
    "object_type": "'provider'",
    "object_id": "'999999'",
    "object_repr": "'forged'",
    "parent_type": "'aimodel'",
    "parent_id": "'1'",
    "changes": """'{"status": {"old": "active", "new": "inactive"}}'""",
    "reason": "'forged reason'",
    "source": "'api'",
    "request_id": "'forged-request'",
    "parent_repr": "'forged parent'",
    "event_type": "'model.deleted'",
    "provider_id": "4242",
}


def test_every_column_an_entry_shows_is_covered_by_its_digest():
    assert set(FORGED_VALUES) == set(CHAINED_FIELDS) - {"id"}  # a new column must be added here too


@pytest.mark.parametrize("column", sorted(FORGED_VALUES))
def test_an_edit_of_any_column_of_a_bulk_written_entry_is_named_as_changed(column):
    models = some_registry_writes()
    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[models[1].pk], actor=None, reason="bulk")  # RETURNING path
    target = AuditEntry.objects.filter(object_id=str(models[1].pk)).latest("pk")
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    forged = FORGED_VALUES[column]
    if connection.vendor == "sqlite" and column == "timestamp":
        forged = "strftime('%Y-%m-%d %H:%M:%f', timestamp, '+0.001 seconds')"  # SQLite keeps text; milliseconds

    tamper(f"UPDATE {table} SET {connection.ops.quote_name(column)} = {forged} WHERE id = %s", [target.pk])  # noqa: S608

    status, report = verify()
    assert (status, first_problem(report), report["problem_count"]) == (1, ("changed", target.pk), 1)


def test_a_deleted_entry_is_named_as_removed():
    models = some_registry_writes()
    target = AuditEntry.objects.filter(object_id=str(models[2].pk)).get()
    table = connection.ops.quote_name(AuditEntry._meta.db_table)

    tamper(f"DELETE FROM {table} WHERE id = %s", [target.pk])  # noqa: S608

    status, report = verify()
    assert (status, first_problem(report)) == (1, ("removed", target.pk))


def test_an_entry_deleted_with_its_link_is_found_between_its_neighbours():
    some_registry_writes()
    links = list(AuditLink.objects.order_by("position"))
    gone, after = links[2], links[3]
    entries = connection.ops.quote_name(AuditEntry._meta.db_table)
    link_table = connection.ops.quote_name(AuditLink._meta.db_table)

    with guard_lifted(AuditEntry, AuditLink) as cursor:
        cursor.execute(f"DELETE FROM {entries} WHERE id = %s", [gone.entry_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {link_table} WHERE position = %s", [gone.position])  # noqa: S608

    status, report = verify()
    assert (status, first_problem(report)) == (1, ("removed", after.entry_id))
    assert f"entry {links[1].entry_id}" in report["problems"][0]["message"]


def test_an_entry_inserted_out_of_band_is_named_as_inserted():
    some_registry_writes()
    forged = AuditEntryFactory(username="mallory")  # straight into the table, as raw SQL would

    status, report = verify()

    assert (status, first_problem(report)) == (1, ("inserted", forged.pk))


def test_a_copy_of_an_entry_inserted_by_sql_is_named_as_inserted():
    models = some_registry_writes()
    original = AuditEntry.objects.filter(object_id=str(models[0].pk)).order_by("pk").first()
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(f.column) for f in AuditEntry._meta.concrete_fields if not f.primary_key
    )

    tamper(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s", [original.pk])  # noqa: S608

    copy = AuditEntry.objects.order_by("pk").last()
    status, report = verify()
    assert (status, first_problem(report)) == (1, ("inserted", copy.pk))


def test_the_newest_entries_removed_with_their_links_are_reported():
    some_registry_writes()
    last = AuditLink.objects.order_by("position").last()
    entries = connection.ops.quote_name(AuditEntry._meta.db_table)
    link_table = connection.ops.quote_name(AuditLink._meta.db_table)

    with guard_lifted(AuditEntry, AuditLink) as cursor:
        cursor.execute(f"DELETE FROM {entries} WHERE id = %s", [last.entry_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {link_table} WHERE position = %s", [last.position])  # noqa: S608

    status, report = verify()
    assert (status, report["problems"][0]["kind"], report["problems"][0]["position"]) == (1, "removed", last.position)


def test_the_newest_entries_removed_with_the_head_rewritten_are_caught_by_a_digest_kept_elsewhere():
    some_registry_writes()
    recorded = AuditLink.objects.order_by("position").last()  # what an earlier run printed
    assert verify_expecting(recorded)[0] == 0
    entries = connection.ops.quote_name(AuditEntry._meta.db_table)
    link_table = connection.ops.quote_name(AuditLink._meta.db_table)
    before = AuditLink.objects.get(position=recorded.position - 1)

    with guard_lifted(AuditEntry, AuditLink) as cursor:
        cursor.execute(f"DELETE FROM {entries} WHERE id = %s", [recorded.entry_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {link_table} WHERE position = %s", [recorded.position])  # noqa: S608
        AuditChainHead.objects.filter(pk=1).update(position=before.position, digest=before.digest)

    assert verify()[0] == 0  # the chain alone cannot tell
    status, report = verify_expecting(recorded)
    assert (status, report["problems"][0]["kind"], report["problems"][0]["position"]) == (
        1,
        "removed",
        recorded.position,
    )


def verify_expecting(link) -> tuple[int, dict]:
    stdout = io.StringIO()
    try:
        call_command(
            "verify_audit_log", "--format", "json", "--expect", f"{link.position}:{link.digest}", stdout=stdout
        )
        return 0, json.loads(stdout.getvalue())
    except CommandError as error:
        return error.returncode, json.loads(stdout.getvalue())


def test_the_chain_holds_across_bulk_import_per_object_and_delete_writes():
    models = some_registry_writes()
    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[m.pk for m in models], actor=None)
    aimodel_bulk_apply(action=BulkAction.DELETE, ids=[models[2].pk], actor=None)
    aimodel_delete(model=models[1], actor=None)
    import_models(
        read_source("new.csv", b"name,provider,context_window\nimported-1,acme,1000\nimported-2,newco,2000\n"),
        actor=None,
    )

    status, report = verify()

    assert (status, report["problems"]) == (0, [])
    assert report["checked"] == AuditEntry.objects.count()
    assert AuditEntry.objects.filter(source="bulk").count() == 4
    assert AuditEntry.objects.filter(source="import").count() == 3  # two models and a new provider


def test_a_change_that_rolls_back_leaves_no_link_behind():
    some_registry_writes()
    model = AIModel.objects.get(name="m-0")

    with pytest.raises(RuntimeError), transaction.atomic():
        aimodel_update(model=model, actor=None, display_name="Never")
        raise RuntimeError

    assert verify()[0] == 0


def test_after_a_prune_the_kept_chain_verifies_from_the_start_the_prune_recorded():
    some_registry_writes()
    cutoff = timezone.now()
    aimodel_update(model=AIModel.objects.get(name="m-1"), actor=None, display_name="after the cutoff")

    prune_history(before=cutoff)

    status, report = verify()
    assert (status, report["problems"]) == (0, [])
    run = AuditEntry.objects.get(object_type="history")
    start = run.changes["audit chain start"]["new"]
    assert report["first_position"] == start["position"] + 1
    assert AuditLink.objects.order_by("position").first().previous == start["digest"]


def test_removing_the_oldest_kept_entries_after_a_prune_is_reported():
    some_registry_writes()
    prune_history(before=timezone.now() - datetime.timedelta(days=1))  # prunes nothing
    oldest = AuditLink.objects.order_by("position").first()
    entries = connection.ops.quote_name(AuditEntry._meta.db_table)
    link_table = connection.ops.quote_name(AuditLink._meta.db_table)

    with guard_lifted(AuditEntry, AuditLink) as cursor:
        cursor.execute(f"DELETE FROM {entries} WHERE id = %s", [oldest.entry_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {link_table} WHERE position = %s", [oldest.position])  # noqa: S608

    status, report = verify()
    assert (status, report["problems"][0]["kind"]) == (1, "removed")
    assert report["problems"][0]["position"] == oldest.position + 1


def test_a_chain_forged_with_another_key_does_not_verify(settings):
    settings.AUDIT_CHAIN_KEY = "the key of whoever forged it"
    some_registry_writes()

    settings.AUDIT_CHAIN_KEY = "the real key"
    status, report = verify()

    assert status == 1
    assert {problem["kind"] for problem in report["problems"]} == {"changed"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_chain_holds_under_concurrent_writers_of_every_kind():
    from models_registry.tests.test_concurrency import run_together

    models = some_registry_writes()
    provider = models[0].provider
    csv = b"name,provider,context_window\n" + b"".join(f"concurrent-{n},acme,{1000 + n}\n".encode() for n in range(20))

    outcomes = run_together(
        *[lambda n=n: aimodel_create(actor=None, name=f"parallel-{n}", provider=provider) for n in range(6)],
        *[lambda m=m: aimodel_update(model=m, actor=None, display_name=f"Concurrent {m.pk}") for m in models],
        lambda: aimodel_bulk_apply(action=BulkAction.DEACTIVATE, ids=[m.pk for m in models], actor=None),
        lambda: import_models(read_source("concurrent.csv", csv), actor=None),
        lambda: prune_history(before=timezone.now() - datetime.timedelta(days=1)),
    )

    assert [outcome for outcome in outcomes if isinstance(outcome, Exception)] == []
    status, report = verify()
    assert (status, report["problems"]) == (0, [])
    assert report["checked"] == AuditEntry.objects.count() == AuditLink.objects.count()
    positions = list(AuditLink.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, len(positions) + 1))


def test_the_migration_that_adds_the_chain_links_the_entries_already_there():
    from django.apps import apps

    migration = importlib.import_module("audit.migrations.0006_change_events")
    older = [AuditEntryFactory(username=f"before-the-chain-{n}") for n in range(3)]  # as they were: no links
    assert verify()[0] == 1

    migration.link_existing_entries(apps, SimpleNamespace(connection=connection))  # as RunPython calls it

    status, report = verify()
    assert (status, report["checked"]) == (0, 3)
    assert list(AuditLink.objects.order_by("position").values_list("entry_id", flat=True)) == [e.pk for e in older]
    some_registry_writes()  # and the chain goes on from there
    assert verify()[0] == 0
