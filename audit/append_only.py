"""On PostgreSQL the database itself refuses UPDATE and DELETE on the log tables.

Installed after every `migrate` (so new historical tables are covered as they appear).
The exceptions: the documented history retention command, which sets
`llm_admin.retention = on` for its own transaction and audits itself; and the security
log's count of repeated events, which may only go up (with `last_seen_at`).
"""

from django.apps import apps
from django.db import connections

from audit.models import AuditEntry, HistoryStamp, SecurityEvent

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION llm_admin_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('llm_admin.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    -- The security log counts repeated events (audit.security._insert_or_count): its one
    -- allowed UPDATE moves `count` up and `last_seen_at` not back, and nothing else.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_securityevent' THEN
        IF NEW.count > OLD.count AND NEW.last_seen_at >= OLD.last_seen_at
           AND to_jsonb(NEW) - 'count' - 'last_seen_at' = to_jsonb(OLD) - 'count' - 'last_seen_at' THEN
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
    FOR EACH ROW EXECUTE FUNCTION llm_admin_append_only();
"""


def append_only_models():
    return [AuditEntry, SecurityEvent] + [model for model in apps.get_models() if issubclass(model, HistoryStamp)]


def install_append_only_triggers(using="default", **kwargs):
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        for model in append_only_models():
            if model._meta.db_table in existing:
                cursor.execute(TRIGGER_SQL.format(table=connection.ops.quote_name(model._meta.db_table)))
