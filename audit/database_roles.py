"""The two database roles on PostgreSQL: the owner, which migrates and prunes, and the app's
least-privilege role, which serves requests.

The app's role (the user in `DATABASE_URL`) owns nothing, so it cannot disable a trigger,
replace the guard function or drop a table; it is no superuser, so it cannot set
`session_replication_role`; and on the log tables it may only SELECT and INSERT. The
owner (the user in `DATABASE_OWNER_URL`) is who `migrate`, `prune_history` and
`create_app_db_role` connect as (`owner_connection`); each `migrate` grants the app's role
what it needs on tables created meanwhile (`refresh_app_role_grants`).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.models import AuditChainHead, SecurityEvent

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables of other apps that are logs too: the app may add rows, never change or remove them.
OTHER_LOG_TABLES = ("django_admin_log", "axes_accesslog", "axes_accessfailurelog")
READ_ONLY_TABLES = ("django_migrations",)  # the owner's, as is the schema
# The only columns of a log row the app may update, and why:
# a repeated security event is counted in its row (aggregation), and django-axes stamps a
# sign-in's row with the time of its sign-out.
UPDATABLE_LOG_COLUMNS = {
    SecurityEvent._meta.db_table: ("count", "last_seen_at"),
    "axes_accesslog": ("logout_time",),
}


# pg_roles column -> the keyword that gives the app's role its value.
ROLE_ATTRIBUTES = {
    "rolcanlogin": "LOGIN",
    "rolsuper": "NOSUPERUSER",
    "rolcreatedb": "NOCREATEDB",
    "rolcreaterole": "NOCREATEROLE",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
    "rolinherit": "INHERIT",
}


class RoleError(Exception):
    """The role cannot be made the app's least-privilege role."""


def log_tables() -> set[str]:
    from audit.append_only import append_only_models

    return {model._meta.db_table for model in append_only_models()} | set(OTHER_LOG_TABLES)


@contextmanager
def connected_as(credentials: dict | None, alias: str = "default") -> Iterator[None]:
    """Point `alias` at the same database under other credentials (USER, PASSWORD and,
    when given, HOST and PORT) for the duration of the block."""
    if not credentials:
        yield
        return
    original = connections.settings[alias]
    given = {key: credentials[key] for key in ("USER", "PASSWORD", "HOST", "PORT") if credentials.get(key)}
    connections[alias].close()
    connections.settings[alias] = {**original, **given, "PASSWORD": credentials.get("PASSWORD", "")}
    del connections[alias]
    try:
        yield
    finally:
        connections[alias].close()
        connections.settings[alias] = original
        del connections[alias]


# The app's role while `owner_connection` stands in for it: whom `migrate` grants to.
_app_role: ContextVar[str | None] = ContextVar("app_role", default=None)


@contextmanager
def owner_connection() -> Iterator[None]:
    """The default connection as the owner, when `DATABASE_OWNER_URL` names one."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    app_user = connections.settings[DEFAULT_DB_ALIAS].get("USER")
    token = _app_role.set(app_user if owner and owner.get("USER") != app_user else None)
    try:
        with connected_as(owner):
            yield
    finally:
        _app_role.reset(token)


def _identifier(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise RoleError(f"{name!r} is not a plain role name (lowercase letters, digits, _).")
    return f'"{name}"'


def _columns(connection, table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(cursor, table)}


def grant_app_role(connection, role: str) -> None:
    """Give `role` exactly the app's privileges on every table of the schema."""
    quoted = _identifier(role)
    logs = log_tables()
    head = AuditChainHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema(), current_database()")
        schema, database = cursor.fetchone()
        cursor.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}')
        cursor.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {quoted}')
        cursor.execute(f'REVOKE CREATE ON SCHEMA "{schema}" FROM {quoted}')
        for table in connection.introspection.table_names(cursor):
            name = connection.ops.quote_name(table)
            cursor.execute(f"REVOKE ALL ON TABLE {name} FROM {quoted}")
            if table in READ_ONLY_TABLES:
                privileges = "SELECT"
            elif table in logs:
                privileges = "SELECT, INSERT"
            elif table == head:
                privileges = "SELECT, INSERT, UPDATE"  # the chain's head moves; it is never removed
            else:
                privileges = "SELECT, INSERT, UPDATE, DELETE"
            cursor.execute(f"GRANT {privileges} ON TABLE {name} TO {quoted}")
            columns = [c for c in UPDATABLE_LOG_COLUMNS.get(table, ()) if c in _columns(connection, table)]
            if columns:
                listed = ", ".join(connection.ops.quote_name(column) for column in columns)
                cursor.execute(f"GRANT UPDATE ({listed}) ON TABLE {name} TO {quoted}")
        cursor.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {quoted}')


def table_owner(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(AuditChainHead._meta.db_table)],
        )
        return cursor.fetchone()[0]


def create_app_role(connection, role: str, *, password: str | None) -> bool:
    """Create or update `role` as the app's least-privilege role; True when it is new."""
    from psycopg import sql

    quoted = _identifier(role)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
        owner = table_owner(connection)
        if role in (current, owner):
            raise RoleError(f"{role} is {owner}, the owner of the tables, or the role running this command.")
        columns = ", ".join(ROLE_ATTRIBUTES)
        cursor.execute(f"SELECT {columns} FROM pg_roles WHERE rolname = %s", [role])  # noqa: S608
        found = cursor.fetchone()
        if found is None:
            cursor.execute(f"CREATE ROLE {quoted} WITH {' '.join(ROLE_ATTRIBUTES.values())}")
        else:
            # Only what differs: PostgreSQL lets no one but a superuser so much as name
            # SUPERUSER, REPLICATION or BYPASSRLS in an ALTER ROLE, even to turn them off.
            values = dict(zip(ROLE_ATTRIBUTES, found, strict=True))
            wanted = [word for column, word in ROLE_ATTRIBUTES.items() if values[column] != (not word.startswith("NO"))]
            if wanted:
                cursor.execute(f"ALTER ROLE {quoted} WITH {' '.join(wanted)}")
        # After NOSUPERUSER: a superuser counts as a member of every role.
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
        if cursor.fetchone()[0]:
            raise RoleError(f"{role} is a member of {owner}, the owner of the tables: it could lift the guard.")
        if password is not None:
            statement = sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
            cursor.execute(statement.as_string(connection.connection))
        grant_app_role(connection, role)
    return found is None


def refresh_app_role_grants(using="default", **kwargs) -> None:
    """After `migrate` as the owner: the app's role gets its privileges on new tables too."""
    connection = connections[using]
    app_role = _app_role.get()
    if connection.vendor != "postgresql" or not app_role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [app_role])
        current, exists = cursor.fetchone()
    if exists and app_role != current:
        grant_app_role(connection, app_role)
