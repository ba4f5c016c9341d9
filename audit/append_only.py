"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE on the log tables.

Installed after every `migrate` (so new historical tables are covered as they appear).
Who may pass depends on who is connected, never on a setting any session can change:

- DELETE only for a member of the table owner's role (the role `migrate` and
  `prune_history` run as) that has also switched retention on for its own transaction
  (`SET LOCAL llm_admin.retention = on`, so the owner cannot delete by accident). The app
  runs as a role that owns nothing (`audit.database_roles`), so the switch does nothing
  for it.
- UPDATE of a security event only where it aggregates a repeated event: `count` going up
  and `last_seen_at` not going back, every other column as it was (when the table has
  those columns).
- TRUNCATE never.

The triggers are `ENABLE ALWAYS`, so `session_replication_role = replica` does not skip them.
"""

from django.apps import apps
from django.db import connections

from audit.models import AuditEntry, AuditLink, HistoryStamp, SecurityEvent

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION llm_admin_append_only() RETURNS trigger
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('llm_admin.retention', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_NARGS > 0 AND TG_ARGV[0] = 'counted' THEN
        old_row := to_jsonb(OLD);
        new_row := to_jsonb(NEW);
        IF old_row ? 'count' AND old_row ? 'last_seen_at'
           AND new_row - 'count' - 'last_seen_at' = old_row - 'count' - 'last_seen_at'
           AND (new_row ->> 'count')::bigint > (old_row ->> 'count')::bigint
           AND (new_row ->> 'last_seen_at')::timestamptz
               >= coalesce((old_row ->> 'last_seen_at')::timestamptz, '-infinity') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER_SQL = """
DROP TRIGGER IF EXISTS llm_admin_append_only ON {table};
CREATE TRIGGER llm_admin_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION llm_admin_append_only({argument});
ALTER TABLE {table} ENABLE ALWAYS TRIGGER llm_admin_append_only;
DROP TRIGGER IF EXISTS llm_admin_no_truncate ON {table};
CREATE TRIGGER llm_admin_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION llm_admin_append_only();
ALTER TABLE {table} ENABLE ALWAYS TRIGGER llm_admin_no_truncate;
"""


def append_only_models():
    return [AuditEntry, AuditLink, SecurityEvent] + [
        model for model in apps.get_models() if issubclass(model, HistoryStamp)
    ]


def install_append_only_triggers(using="default", **kwargs):
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        for model in append_only_models():
            if model._meta.db_table in existing:
                argument = "'counted'" if model is SecurityEvent else ""
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(TRIGGER_SQL.format(table=table, argument=argument))
