"""A trigram index on the folded search text, on PostgreSQL: the search filter's
`search_text LIKE '%text%'` read from the index instead of a scan of every model
(docs/architecture.md, "Speed"). SQLite has no such index and scans."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "aimodel_search_text_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("models_registry", "AIModel")._meta.db_table)
        schema_editor.execute(f"CREATE INDEX {INDEX} ON {table} USING gin (search_text gin_trgm_ops)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("models_registry", "0014_deprecation_date_index")]

    operations = [
        TrigramExtension(),  # (does nothing on other databases)
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
