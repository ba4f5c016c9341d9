"""python manage.py create_app_db_role NAME [--password-from-env VAR]"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.database_roles import RoleError, create_app_role, owner_connection
from audit.management.runs import EXIT_BAD_INPUT


class Command(BaseCommand):
    help = (
        "Create or update the app's least-privilege PostgreSQL role: read and write the registry, only read and "
        "add to the logs, own nothing. Run as the owner of the tables (DATABASE_OWNER_URL when set)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The role's name, e.g. llm_admin_app.")
        parser.add_argument(
            "--password-from-env",
            dest="password_env",
            metavar="VAR",
            help="Set the role's password from this environment variable (never from the command line).",
        )

    def handle(self, *args, name, password_env, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"--password-from-env: {password_env} is not set.", returncode=EXIT_BAD_INPUT)
        with owner_connection():
            if connection.vendor != "postgresql":
                raise CommandError("Database roles exist on PostgreSQL only.", returncode=EXIT_BAD_INPUT)
            try:
                created = create_app_role(connection, name, password=password)
            except RoleError as error:
                raise CommandError(str(error), returncode=EXIT_BAD_INPUT) from error
        self.stdout.write(f"{'created' if created else 'updated'} role {name}")
