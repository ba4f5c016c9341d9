"""python manage.py catalog_drift FILE [--format text|json] [--input-format ...]

Exit status (docs/contract.md §7): 0 in sync, 1 drifted, 2 bad file or arguments; meant to
run on a schedule against the providers' own catalogs."""

import orjson
from django.core.management.base import BaseCommand, CommandError

from audit.management.runs import EXIT_BAD_INPUT
from models_registry.importing import FORMATS, ImportFileError, read_path
from models_registry.importing.drift import catalog_drift

EXIT_DRIFTED = 1

SHOWN_PER_KIND = 50  # in the text report; --format json lists everything


class Command(BaseCommand):
    help = (
        "Compare the registry with an upstream catalog (a LiteLLM catalog or any import format): models new "
        "upstream, changed fields, models gone upstream. Changes nothing. Exit status: 0 in sync, 1 drifted, "
        "2 bad file or arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=("text", "json"), default="text", help="The report's format.")
        parser.add_argument("--input-format", choices=FORMATS, help="The file's format; detected when omitted.")

    def handle(self, *args, file, format, input_format, **options):
        try:
            source = read_path(file, input_format)
        except ImportFileError as error:
            raise CommandError(f"{file}: {error}", returncode=EXIT_BAD_INPUT) from error
        drift = catalog_drift(source)
        if not drift.compared:
            for row in drift.invalid[:SHOWN_PER_KIND]:
                self.stderr.write(f"{row['row']}: {row['errors']}")
            raise CommandError(
                f"{file}: no entry in it describes a model the registry could take.", returncode=EXIT_BAD_INPUT
            )
        if format == "json":
            self.stdout.write(orjson.dumps(drift.as_json()).decode())
        else:
            self.write_text(drift)
        if not drift.in_sync:
            raise CommandError(f"The registry differs from {file}: {drift.summary()}", returncode=EXIT_DRIFTED)

    def write_text(self, drift) -> None:
        self.stdout.write(drift.summary())
        self.write_some("new upstream", [f"+ {name}" for name in drift.new])
        lines = []
        for item in drift.changed:
            for field, values in item["changes"].items():
                lines.append(f"~ {item['name']}: {field}: {values['registry']!r} -> {values['upstream']!r}")
        self.write_some("changed upstream", lines)
        self.write_some("gone upstream", [f"- {name}" for name in drift.gone])
        for row in drift.invalid:
            for column, messages in row["errors"].items():
                for message in messages:
                    self.stderr.write(f"{row['row']}: {column}: {message}")
        if drift.in_sync:
            self.stdout.write("In sync.")

    def write_some(self, title: str, lines: list[str]) -> None:
        if not lines:
            return
        self.stdout.write(f"{title}:")
        for line in lines[:SHOWN_PER_KIND]:
            self.stdout.write(f"  {line}")
        if len(lines) > SHOWN_PER_KIND:
            self.stdout.write(f"  … and {len(lines) - SHOWN_PER_KIND:,} more (--format json lists all)")
