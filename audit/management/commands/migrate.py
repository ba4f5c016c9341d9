"""`manage.py migrate`, connected as the owner of the tables when DATABASE_OWNER_URL is set.

Django's own command, run under `audit.database_roles.owner_connection`: the app's role
(DATABASE_URL) may not create or alter tables, so migrating as the owner is not a step an
operator can forget. Its post_migrate hooks reinstall the append-only triggers and grant
the app's role its privileges on new tables.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS

from audit.database_roles import owner_connection


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        if options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        with owner_connection():
            return super().handle(*args, **options)
