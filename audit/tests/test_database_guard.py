"""The database's own guard over the logs (PostgreSQL), and the app's least-privilege role
(issue 10, item 7): TRUNCATE refused on every log table; the retention switch means
nothing to a role that is not the owner; `session_replication_role = replica` does not
skip the guard; and the role `create_app_db_role` makes can read and add to the logs and
change the registry, but cannot update, delete or truncate a log row, lift the guard or
become someone who can."""

import io

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.append_only import append_only_models
from audit.choices import SecurityEventType
from audit.database_roles import connected_as
from audit.models import AuditEntry, AuditLink, SecurityEvent
from audit.security import record_security_event
from models_registry.models import AIModel
from models_registry.services import aimodel_create, aimodel_delete, aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.postgres

APP_ROLE_PASSWORD = "app-role-password-for-tests"  # a throwaway role on the test server


def quoted(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def run_sql(sql: str, params=()) -> None:
    """One statement in its own savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def some_log_rows() -> None:
    model = AIModelFactory()
    aimodel_update(model=model, actor=None, display_name="Changed")
    record_security_event(SecurityEventType.LOGIN_FAILED, username="someone")


PROTECTED = {model._meta.label: model for model in append_only_models()}


@pytest.mark.django_db
@pytest.mark.parametrize("label", PROTECTED)
def test_truncate_is_refused_on_every_log_table(label):
    model = PROTECTED[label]
    some_log_rows()
    before = model._base_manager.count()

    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        run_sql(f"TRUNCATE {quoted(model)}")

    assert model._base_manager.count() == before


def test_every_log_table_is_protected():
    assert {"audit.AuditEntry", "audit.AuditLink", "audit.SecurityEvent", "models_registry.HistoricalAIModel"} <= set(
        PROTECTED
    )


@pytest.mark.django_db
def test_replica_mode_does_not_skip_the_guard_even_for_a_superuser():
    some_log_rows()
    entry = AuditEntry.objects.order_by("pk").first()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"DELETE FROM {quoted(AuditEntry)} WHERE id = %s", [entry.pk])  # noqa: S608

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_the_retention_switch_lets_no_one_but_the_owner_delete():
    """A role granted DELETE on the log (the attack: any role with DELETE) is still refused."""
    some_log_rows()
    entry = AuditEntry.objects.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE llm_admin_test_deleter NOLOGIN")
        cursor.execute(f"GRANT SELECT, DELETE ON {quoted(AuditEntry)} TO llm_admin_test_deleter")

    refusal = pytest.raises(DatabaseError, match="append-only: DELETE refused")
    with refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE llm_admin_test_deleter")
        cursor.execute("SET LOCAL llm_admin.retention = 'on'")
        cursor.execute(f"DELETE FROM {quoted(AuditEntry)} WHERE id = %s", [entry.pk])  # noqa: S608

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- Security events: only the aggregation update passes ----------------------------------


@pytest.fixture
def counted_security_events():
    """The security-event table with the aggregation columns (count, last_seen_at) that the
    security log's aggregation adds; DDL inside the test's transaction, rolled back after."""
    table = quoted(SecurityEvent)
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, SecurityEvent._meta.db_table)}
        if "count" not in columns:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN count integer NOT NULL DEFAULT 1")
        if "last_seen_at" not in columns:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN last_seen_at timestamptz")
        cursor.execute(
            f"INSERT INTO {table} (timestamp, event, username, request_id, method, path, detail, count, last_seen_at) "  # noqa: S608
            "VALUES (now(), 'login_failed', 'x', '', '', '', '{}', 1, now()) RETURNING id"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_security_event_may_be_counted_up(counted_security_events):
    event_id = counted_security_events

    run_sql(
        f"UPDATE {quoted(SecurityEvent)} SET count = count + 1, last_seen_at = now() + interval '1 second' "  # noqa: S608
        "WHERE id = %s",
        [event_id],
    )

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count FROM {quoted(SecurityEvent)} WHERE id = %s", [event_id])  # noqa: S608
        assert cursor.fetchone() == (2,)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "assignment",
    [
        "count = count - 1",  # counting down hides events
        "count = count",  # nothing counted
        "count = count + 1, last_seen_at = now() - interval '1 day'",  # time going back
        "count = count + 1, username = 'someone-else'",  # another column along with the count
        "username = 'someone-else'",
    ],
)
def test_any_other_update_of_a_security_event_is_refused(counted_security_events, assignment):
    event_id = counted_security_events

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        run_sql(f"UPDATE {quoted(SecurityEvent)} SET {assignment} WHERE id = %s", [event_id])  # noqa: S608


# --- The app's least-privilege role ---------------------------------------------------------


@pytest.fixture
def app_role(monkeypatch):
    """A least-privilege role made by `create_app_db_role`, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_app"[:63]
    monkeypatch.setenv("LLM_ADMIN_TEST_APP_PASSWORD", APP_ROLE_PASSWORD)
    out = io.StringIO()
    call_command("create_app_db_role", name, "--password-from-env", "LLM_ADMIN_TEST_APP_PASSWORD", stdout=out)
    assert out.getvalue().strip() in {f"created role {name}", f"updated role {name}"}
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{name}"')
        cursor.execute(f'DROP ROLE "{name}"')


def connect_as(role: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=role,
        password=APP_ROLE_PASSWORD,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )


def refused(role: str, sql: str, params=()) -> str:
    """Run `sql` as `role`; the error the database gives (the test fails if it succeeds)."""
    with connect_as(role) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, params)
    return str(caught.value)


LOG_TABLES = {
    "audit entries": AuditEntry,
    "audit links": AuditLink,
    "security events": SecurityEvent,
    "model history": AIModel.history.model,
}


@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_update_delete_or_truncate_a_log_or_lift_the_guard(app_role):
    some_log_rows()
    counts = {label: model._base_manager.count() for label, model in LOG_TABLES.items()}

    for model in LOG_TABLES.values():
        table, pk = quoted(model), connection.ops.quote_name(model._meta.pk.column)
        assert "permission denied" in refused(app_role, f"UPDATE {table} SET {pk} = {pk}")  # noqa: S608
        assert "permission denied" in refused(app_role, f"DELETE FROM {table}")  # noqa: S608
        assert "permission denied" in refused(app_role, f"TRUNCATE {table}")
        assert "must be owner" in refused(app_role, f"ALTER TABLE {table} DISABLE TRIGGER USER")
    for table in ("django_admin_log", "axes_accesslog"):
        assert "permission denied" in refused(app_role, f"DELETE FROM {table}")  # noqa: S608
        assert "permission denied" in refused(app_role, f"UPDATE {table} SET id = id")  # noqa: S608
    assert "permission denied" in refused(app_role, "SET session_replication_role = replica")
    assert "must be owner" in refused(app_role, "DROP FUNCTION llm_admin_append_only()")
    assert "permission denied" in refused(app_role, f"CREATE TABLE {app_role}_scratch (id int)")
    assert "must be superuser" in refused(app_role, "ALTER ROLE CURRENT_USER SUPERUSER")

    assert {label: model._base_manager.count() for label, model in LOG_TABLES.items()} == counts


@pytest.mark.django_db(transaction=True)
def test_the_retention_switch_does_nothing_for_the_app_role(app_role):
    some_log_rows()
    before = AuditEntry.objects.count()

    with connect_as(app_role) as conn, pytest.raises(psycopg.Error, match="permission denied"), conn.transaction():
        conn.execute("SET LOCAL llm_admin.retention = 'on'")
        conn.execute(f"DELETE FROM {quoted(AuditEntry)}")  # noqa: S608

    assert AuditEntry.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_the_app_role_reads_and_adds_to_the_logs(app_role):
    some_log_rows()

    with connect_as(app_role) as conn:
        (entries,) = conn.execute(f"SELECT count(*) FROM {quoted(AuditEntry)}").fetchone()  # noqa: S608
        conn.execute(
            f"INSERT INTO {quoted(SecurityEvent)} "  # noqa: S608
            "(timestamp, last_seen_at, count, event, username, request_id, method, path, detail) "
            "VALUES (now(), now(), 1, 'login_failed', 'x', '', '', '', '{}')"
        )

    assert entries == AuditEntry.objects.count() > 0
    assert SecurityEvent.objects.filter(username="x").count() == 1


@pytest.mark.django_db(transaction=True)
def test_registry_writes_work_through_the_services_as_the_app_role(app_role):
    provider = ProviderFactory(slug="acme")
    credentials = {"USER": app_role, "PASSWORD": APP_ROLE_PASSWORD}

    with connected_as(credentials):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role,)
        model = aimodel_create(actor=None, name="as-the-app", provider=provider)
        aimodel_update(model=model, actor=None, display_name="Renamed by the app")
        doomed = aimodel_create(actor=None, name="short-lived", provider=provider)
        aimodel_delete(model=doomed, actor=None)
        record_security_event(SecurityEventType.LOGIN_FAILED, username="as-the-app")

    assert AIModel.objects.get(name="as-the-app").display_name == "Renamed by the app"
    assert not AIModel.objects.filter(name="short-lived").exists()
    actions = AuditEntry.objects.filter(object_type="aimodel").order_by("pk").values_list("action", "object_repr")
    assert list(actions) == [
        ("create", "as-the-app"),
        ("update", "as-the-app"),
        ("create", "short-lived"),
        ("delete", "short-lived"),
    ]
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert out.getvalue().strip().endswith(": intact")


@pytest.mark.django_db(transaction=True)
def test_prune_history_as_the_owner_works_and_audits_itself(app_role, settings):
    """The app runs as its role; prune_history connects as DATABASE_OWNER_URL's user."""
    some_log_rows()
    owner = {"USER": connection.settings_dict["USER"], "PASSWORD": connection.settings_dict["PASSWORD"]}
    settings.DATABASE_OWNER = owner
    cutoff = timezone.now()
    aimodel_update(model=AIModel.objects.get(), actor=None, display_name="after the cutoff")
    old = AuditEntry.objects.filter(timestamp__lt=cutoff).count()

    with connected_as({"USER": app_role, "PASSWORD": APP_ROLE_PASSWORD}):
        out = io.StringIO()
        call_command("prune_history", "--before", cutoff.isoformat(), stdout=out)

    assert f"audit.AuditEntry: deleted {old}" in out.getvalue().splitlines()
    run = AuditEntry.objects.get(object_type="history")
    assert run.changes["audit.AuditEntry"] == {"old": old, "new": 0}
    verification = io.StringIO()
    call_command("verify_audit_log", stdout=verification)
    assert verification.getvalue().strip().endswith(": intact")


@pytest.mark.django_db(transaction=True)
def test_prune_history_as_the_app_role_is_refused(app_role):
    some_log_rows()
    before = AuditEntry.objects.count()

    with connected_as({"USER": app_role, "PASSWORD": APP_ROLE_PASSWORD}), pytest.raises(DatabaseError):
        call_command("prune_history", "--before", timezone.now().isoformat(), stdout=io.StringIO())

    assert AuditEntry.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_migrate_runs_as_the_owner_and_grants_the_app_role_its_privileges_again(app_role, settings):
    settings.DATABASE_OWNER = {
        "USER": connection.settings_dict["USER"],
        "PASSWORD": connection.settings_dict["PASSWORD"],
    }
    with connection.cursor() as cursor:  # a table the app's role lost its privileges on
        cursor.execute(f'REVOKE ALL ON {quoted(AIModel)} FROM "{app_role}"')
    assert "permission denied" in refused(app_role, f"SELECT count(*) FROM {quoted(AIModel)}")  # noqa: S608

    with connected_as({"USER": app_role, "PASSWORD": APP_ROLE_PASSWORD}):  # DATABASE_URL is the app's role
        call_command("migrate", "--noinput", stdout=io.StringIO())

    with connect_as(app_role) as conn:
        assert conn.execute(f"SELECT count(*) FROM {quoted(AIModel)}").fetchone() == (0,)  # noqa: S608
    assert "permission denied" in refused(app_role, f"DELETE FROM {quoted(AuditEntry)}")  # noqa: S608


@pytest.mark.django_db(transaction=True)
def test_migrate_as_the_app_role_alone_cannot_touch_the_guard(app_role):
    """Without DATABASE_OWNER_URL the app's role migrates as itself, and the database says no."""
    with connected_as({"USER": app_role, "PASSWORD": APP_ROLE_PASSWORD}), pytest.raises(DatabaseError):
        call_command("migrate", "--noinput", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_running_create_app_db_role_again_brings_a_widened_role_back(app_role):
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER ROLE "{app_role}" WITH CREATEDB SUPERUSER')
        cursor.execute(f'GRANT DELETE ON {quoted(AuditEntry)} TO "{app_role}"')
    out = io.StringIO()

    call_command("create_app_db_role", app_role, stdout=out)

    assert out.getvalue().strip() == f"updated role {app_role}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = %s", [app_role])
        assert cursor.fetchone() == (False, False, True)
    assert "permission denied" in refused(app_role, f"DELETE FROM {quoted(AuditEntry)}")  # noqa: S608


@pytest.mark.django_db
def test_create_app_db_role_refuses_the_owner_of_the_tables():
    with pytest.raises(CommandError, match="the owner of the tables") as refusal:
        call_command("create_app_db_role", connection.settings_dict["USER"], stdout=io.StringIO())

    assert refusal.value.returncode == 2
