"""python manage.py import_models FILE [--format ...] [--dry-run] [--skip-invalid] [--actor USERNAME]"""

from django.core.management.base import BaseCommand, CommandError

from audit.choices import ChangeSource
from audit.management.runs import EXIT_BAD_INPUT, EXIT_REFUSED, add_actor_arguments, command_run
from models_registry.importing import (
    FORMATS,
    ImportConflictError,
    ImportFileError,
    cycle_collector,
    import_models,
    read_path,
)
from models_registry.importing.plan import no_progress

PROGRESS_WIDTH = 30


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
        add_actor_arguments(parser)

    def handle(self, *args, file, format, dry_run, skip_invalid, actor, reason, **options):
        # The collector is paused for the run: a command is a process of its own.
        with cycle_collector.paused(), command_run(actor=actor, reason=reason, source=ChangeSource.IMPORT) as run:
            try:
                source = read_path(file, format)
            except ImportFileError as error:
                raise CommandError(f"{file}: {error}", returncode=EXIT_BAD_INPUT) from error
            try:
                report = import_models(
                    source,
                    actor=run.user,
                    reason=reason,
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    progress=self.progress_bar(len(source.rows)),
                )
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
            raise CommandError(
                "Nothing was applied: fix the invalid rows, or use --skip-invalid.", returncode=EXIT_REFUSED
            )

    def progress_bar(self, rows: int):
        """A bar on standard error while rows are checked, for long imports at a terminal."""
        if rows < 1000 or not self.stderr.isatty():
            return no_progress

        def draw(text: str) -> None:
            # As written: no line ending added, and not in the style of the command's errors.
            self.stderr.write(text, style_func=unstyled, ending="")

        def show(done: int, total: int) -> None:
            filled = done * PROGRESS_WIDTH // total
            bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
            draw(f"\rChecking rows [{bar}] {done:,}/{total:,}")
            if done == total:
                draw("\rChecked {:,} rows; writing…{}\n".format(total, " " * PROGRESS_WIDTH))
            self.stderr.flush()

        return show


def unstyled(text: str) -> str:
    return text
