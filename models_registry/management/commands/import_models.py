"""python manage.py import_models FILE [--format ...] [--dry-run] [--skip-invalid] [--actor USERNAME]"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from audit.choices import ChangeSource
from audit.context import change_context, new_request_id
from models_registry.importing import FORMATS, ImportConflictError, ImportFileError, import_models, read_path

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Import models from a CSV, JSON or XLSX file in the project's columns, or from a LiteLLM catalog. "
        "By default nothing is applied when any row is invalid. Exit status: 0 applied, 1 refused, "
        "2 bad file or arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=FORMATS, help="Detected from the file when omitted.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Apply the valid rows, report the others.")
        parser.add_argument("--actor", help="The username the changes are recorded under.")

    def handle(self, *args, file, format, dry_run, skip_invalid, actor, **options):
        user = resolve_actor(actor)
        try:
            source = read_path(file, format)
        except ImportFileError as error:
            raise CommandError(f"{file}: {error}", returncode=EXIT_BAD_INPUT) from error
        with change_context(source=ChangeSource.IMPORT, request_id=new_request_id(), actor=user):
            try:
                report = import_models(source, actor=user, dry_run=dry_run, skip_invalid=skip_invalid)
            except ImportConflictError as error:
                raise CommandError(str(error), returncode=EXIT_REFUSED) from error
        for row in report.invalid_rows:
            for column, messages in row.errors.items():
                for message in messages:
                    self.stderr.write(f"{source.name}: {row.ref}: {column}: {message}")
        self.stdout.write(report.summary())
        if dry_run:
            self.stderr.write("Dry run: nothing was changed.")
        elif not report.applied:
            self.stderr.write("Nothing was applied: fix the invalid rows, or use --skip-invalid.")
            sys.exit(EXIT_REFUSED)


def resolve_actor(username: str | None):
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--actor: no user named {username!r}.", returncode=EXIT_BAD_INPUT)
    return user
